"""`make demo`: three agencies' nodes on this machine, and one cross-border case end to end.

BPKN (Indonesia), KCA (Korea) and UK ICC (United Kingdom) each run as their own processes
(gunicorn, a Celery worker, Celery beat) with their own SQLite database and embedded Redis under
var/demo/<node>. An Indonesian consumer files a dispute in Indonesian at BPKN against a Korean web
shop; BPKN forwards it to KCA under their MoU; KCA accepts it, contacts the merchant, exchanges a
message and a document with BPKN and records a settlement, which then shows at BPKN. Every
packet and receipt is printed as it passes.

ODR_DEMO_EXIT=1 runs the same script non-interactively: the exit status says whether the whole
round trip worked. Otherwise the nodes keep running, with their URLs and logins printed, until
Ctrl-C.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import textwrap
import time

from odr.cluster import (
    AGENCY_CODES,
    BASE_DIR,
    SAMPLE_DISPUTE,
    ClusterError,
    LocalCluster,
    Node,
    delivery_problems,
    wait_delivered,
    wait_status,
)

DEMO_DIR = BASE_DIR / "var" / "demo"
PORTS = {"ID-BPKN": 8101, "KR-KCA": 8102, "GB-UKICC": 8103}
SHORT = {"ID-BPKN": "BPKN", "KR-KCA": "KCA", "GB-UKICC": "UK ICC"}
# A tiny but real PDF: uploads are checked by content, not by name.
REFUND_PDF = (
    b"%PDF-1.4\n1 0 obj<< /Type /Catalog /Pages 2 0 R >>endobj\n"
    b"2 0 obj<< /Type /Pages /Kids [] /Count 0 >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"
)


class DemoFailed(Exception):
    pass


class Printer:
    """Step headers, and each packet's state the first time it is seen in it."""

    def __init__(self, cluster: LocalCluster):
        self.cluster = cluster
        self.seen: set[tuple[str, str, str]] = set()
        self.step = 0

    def header(self, title: str) -> None:
        self.step += 1
        print(f"\n== {self.step}. {title} " + "=" * max(3, 72 - len(title)), flush=True)

    def say(self, text: str) -> None:
        print(textwrap.indent(text, "   "), flush=True)

    def packets(self) -> None:
        """Print packets (both directions, every node) whose state changed since last time."""
        fresh = []
        for node in self.cluster.nodes.values():
            for row in node.relay_log():
                key = (node.code, row.get("pid", ""), str(row.get("state")))
                if key not in self.seen:
                    self.seen.add(key)
                    fresh.append((row.get("at") or "", row.get("direction") != "out", node, row))
        # In the order they happened: each packet leaving, then arriving.
        for _at, _arriving, node, row in sorted(fresh, key=lambda item: item[:2]):
            self.say(describe_packet(node, row))


def describe_packet(node: Node, row: dict) -> str:
    me = SHORT.get(node.code, node.code)
    other = SHORT.get(row.get("agency", ""), row.get("agency", "?"))
    if row.get("direction") == "out":
        arrow = f"{me} → {other}"
        receipt = row.get("receipt_status") or "no receipt yet"
        if row.get("receipt_code"):
            receipt += f" {row['receipt_code']}"
        detail = f"attempts {row.get('attempts', 0)}, receipt: {receipt}"
    else:
        arrow = f"{me} ← {other}"
        detail = row.get("code") or ""
    seq = f"seq {row['seq']}" if row.get("seq") is not None else ""
    return (
        f"[packet] {arrow:<16} {row.get('type', '?'):<18} {row.get('dispute') or '':<18} "
        f"{seq:<7} {row.get('state', '?'):<13} {detail}"
    ).rstrip()


def run_round_trip(cluster: LocalCluster, out: Printer, accounts: dict) -> str:
    bpkn, kca, ukicc = cluster["ID-BPKN"], cluster["KR-KCA"], cluster["GB-UKICC"]
    budi, minji = accounts["ID-BPKN"][0], accounts["KR-KCA"][0]

    out.header("An Indonesian consumer files a dispute at BPKN (in Indonesian)")
    evidence = DEMO_DIR / "bukti-pembayaran.pdf"
    evidence.write_bytes(REFUND_PDF)
    reference = bpkn.dispute(
        "file", "--evidence", str(evidence), input=json.dumps(SAMPLE_DISPUTE, ensure_ascii=False)
    )
    out.say(f"Dewi Lestari filed {reference} against Seoul Gadget Store (Korea), 1,250,000 IDR:")
    out.say(f"“{SAMPLE_DISPUTE['consumer_account']}”")

    out.header("BPKN reviews the case and forwards it to KCA under MoU-BPKN-KCA-2021")
    bpkn.dispute("act", reference, "start_review", "--as", budi)
    bpkn.dispute("act", reference, "forward", "--as", budi)
    shown = wait_status(kca, reference, "forwarded")
    out.packets()
    out.say(f"KCA now holds {reference}: status {shown['status']}, from {shown['home_agency']}.")

    out.header("KCA accepts the case and contacts the merchant")
    kca.dispute("act", reference, "accept_forwarded", "--as", minji)
    kca.dispute(
        "act",
        reference,
        "contact_merchant",
        "--as",
        minji,
        "--language",
        "ko",
        "--text",
        "판매자에게 전화와 이메일로 연락했습니다.",
    )
    wait_status(bpkn, reference, "merchant_contacted")
    out.packets()

    out.header("KCA and BPKN exchange messages (Korean/English, Indonesian)")
    kca.dispute(
        "message",
        reference,
        "--as",
        minji,
        "--language",
        "ko",
        "--text",
        "판매자는 배송 누락을 확인했고 전액 환불을 제안합니다. "
        "(The merchant confirms the parcel was never sent and offers a full refund.)",
    )
    bpkn.dispute(
        "message",
        reference,
        "--as",
        budi,
        "--language",
        "id",
        "--text",
        "Terima kasih. Konsumen menerima pengembalian dana penuh. "
        "(Thank you. The consumer accepts a full refund.)",
    )
    wait_delivered(kca, bpkn, reference)
    wait_delivered(bpkn, kca, reference)
    out.packets()

    out.header("KCA sends the merchant's refund confirmation (a document)")
    confirmation = DEMO_DIR / "refund-confirmation.pdf"
    confirmation.write_bytes(REFUND_PDF.replace(b"/Count 0", b"/Count 0 /Refund true"))
    kca.dispute(
        "document",
        reference,
        "--as",
        minji,
        "--file",
        str(confirmation),
        "--note",
        "Refund confirmation from Seoul Gadget Store",
        "--language",
        "en",
    )
    wait_delivered(kca, bpkn, reference)
    out.packets()

    out.header("KCA records the settlement")
    kca.dispute(
        "act",
        reference,
        "record_settlement",
        "--as",
        minji,
        "--language",
        "en",
        "--text",
        "Full refund of 1,250,000 IDR to the consumer's card within 7 days.",
        "--amount",
        "1250000",
        "--currency",
        "IDR",
    )
    wait_status(bpkn, reference, "settled")
    wait_delivered(kca, bpkn, reference)
    wait_delivered(bpkn, kca, reference)
    out.packets()

    out.header("The settlement as BPKN sees it")
    out.say(bpkn.dispute("show", reference))
    at_kca = kca.show(reference)
    check_round_trip(bpkn.show(reference), at_kca, reference)
    problems = delivery_problems(bpkn, kca) + delivery_problems(kca, bpkn)
    if problems:
        raise DemoFailed("packets not all acknowledged and applied once: " + "; ".join(problems))
    if ukicc.show(reference) is not None:
        raise DemoFailed("UK ICC received a BPKN case although it has no active MoU with BPKN")
    sent = sum(
        1 for node in (bpkn, kca) for row in node.relay_log() if row.get("direction") == "out"
    )
    out.say(
        f"\nRound trip complete: {reference} is settled at both BPKN and KCA; "
        f"{sent} packets, each acknowledged and applied exactly once; UK ICC saw none."
    )
    return reference


def check_round_trip(at_bpkn: dict | None, at_kca: dict | None, reference: str) -> None:
    if not at_bpkn or not at_kca:
        raise DemoFailed(f"{reference} is missing on one node")
    for name, shown in (("BPKN", at_bpkn), ("KCA", at_kca)):
        if shown["status"] != "settled":
            raise DemoFailed(f"{reference} is {shown['status']} at {name}, expected settled")
    if {m["uid"] for m in at_bpkn["messages"]} != {m["uid"] for m in at_kca["messages"]}:
        raise DemoFailed("the two nodes do not hold the same messages")
    if {e["sha256"] for e in at_bpkn["evidence"]} != {e["sha256"] for e in at_kca["evidence"]}:
        raise DemoFailed("the two nodes do not hold the same documents")


def create_accounts(cluster: LocalCluster) -> dict[str, tuple[str, str, str, str]]:
    """A caseworker and an admin per node, each with a generated password."""
    names = {"ID-BPKN": "budi", "KR-KCA": "minji", "GB-UKICC": "oliver"}
    accounts = {}
    for code, node in cluster.nodes.items():
        caseworker, password = names.get(code, "caseworker"), secrets.token_urlsafe(9)
        # The = form: a generated password may start with "-", which argparse reads as an option.
        node.dispute("caseworker", caseworker, f"--password={password}")
        admin_password = secrets.token_urlsafe(9)
        node.shell(
            "from django.contrib.auth import get_user_model; U = get_user_model(); "
            "u = U.objects.filter(username='admin').first() or "
            "U.objects.create_superuser('admin', 'admin@example.invalid'); "
            f"u.set_password({admin_password!r}); u.save()"
        )
        accounts[code] = (caseworker, password, "admin", admin_password)
    return accounts


def print_nodes(cluster: LocalCluster, accounts: dict) -> None:
    print("\nThe three nodes keep running. Open them in a browser:", flush=True)
    for code, node in cluster.nodes.items():
        caseworker, password, admin, admin_password = accounts[code]
        print(
            f"\n  {SHORT[code]} ({code})  {node.url}/\n"
            f"    consumer portal  {node.url}/\n"
            f"    casework         {node.url}/casework/   login {caseworker} / {password}\n"
            f"    admin            {node.url}/admin/      login {admin} / {admin_password}\n"
            f"    statistics       {node.url}/casework/statistics/ (public: /statistics/)\n"
            f"    logs             {node.data_dir / 'logs'}",
            flush=True,
        )
    print("\nPress Ctrl-C to stop all nodes.", flush=True)


def main() -> int:
    non_interactive = os.environ.get("ODR_DEMO_EXIT", "") not in ("", "0")
    # A terminating signal unwinds through the finally below, so no process is left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    cluster = LocalCluster(
        DEMO_DIR,
        AGENCY_CODES,
        env_name="development",
        ports=PORTS,
        extra_env={"ODR_RELAY_SWEEP_SECONDS": "2", "ODR_LOG_LEVEL": "WARNING"},
    )
    started = time.monotonic()
    try:
        print("ODR demo: BPKN (Indonesia), KCA (Korea) and UK ICC (United Kingdom)", flush=True)
        out = Printer(cluster)
        out.header("Preparing three nodes (database, seed data, keys, partner keys)")
        cluster.prepare()
        for node in cluster.nodes.values():
            out.say(f"{SHORT[node.code]:<7} {node.code:<9} {node.url}  data in {node.data_dir}")
        out.header("Starting gunicorn, a Celery worker and Celery beat per node")
        cluster.start()
        out.say("All nodes answer /.well-known/jwks.json and their workers answer a ping.")
        accounts = create_accounts(cluster)
        run_round_trip(cluster, out, accounts)
        print(f"\nDemo round trip succeeded in {time.monotonic() - started:.0f} s.", flush=True)
        if non_interactive:
            return 0
        # Beat rebuilds the statistics at night; the demo's pages have them at once.
        for node in cluster.nodes.values():
            node.manage("refresh_figures")
        print_nodes(cluster, accounts)
        while all(p.alive() for node in cluster.nodes.values() for p in node.processes.values()):
            time.sleep(1)
        print("A node process stopped unexpectedly; see the logs above. Stopping.", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nStopping all nodes…", flush=True)
        return 0
    except (ClusterError, DemoFailed) as error:
        print(f"\nDEMO FAILED: {error}", file=sys.stderr, flush=True)
        print(f"Node logs are under {DEMO_DIR}/<node>/logs/", file=sys.stderr, flush=True)
        return 1
    finally:
        cluster.teardown()


if __name__ == "__main__":
    sys.exit(main())
