"""A fourth node, for an agency the project has never heard of (Malaysia's NCCC), onboarded with
BPKN by administrators alone: cards exchanged, thumbprints compared, partners confirmed, the MoU
entered on both nodes, pinged and activated, all through management commands; then BPKN forwards
a dispute to it and gets its signed receipt.

Both nodes are real processes (gunicorn, Celery worker and beat), as in test_multinode.py.
"""

from __future__ import annotations

import json
import re

import pytest

from odr.cluster import LocalCluster, file_and_forward, outbound, wait_delivered, wait_status
from relay.cards import grouped
from tests.relay.test_multinode import cluster_options

pytestmark = pytest.mark.multinode

REFERENCE = "MOU-BPKN-NCCC-2026"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    cluster = LocalCluster(
        tmp_path_factory.mktemp("fourth"),
        ("ID-BPKN", "MY-NCCC"),
        extra_env={"ODR_RELAY_BACKOFF_BASE_SECONDS": "1", "ODR_RELAY_BACKOFF_MAX_SECONDS": "3"},
        **cluster_options(),
    )
    try:
        cluster.add_nodes()
        bpkn, nccc = cluster["ID-BPKN"], cluster["MY-NCCC"]
        for node in (bpkn, nccc):
            node.start_broker()
            node.manage("migrate", "--no-input", "-v", "0")
        # BPKN as it already runs; NCCC from its own documents only.
        bpkn.manage("seed_agencies", f"--inbox=ID-BPKN={bpkn.inbox_url}")
        nccc.manage("seed_agencies", "--reference-only")
        nccc.manage(
            "init_agency",
            "--prefix=NCCC",
            "--short-name=NCCC",
            "--name=National Consumer Complaints Centre",
            "--country=MY",
            "--country-name=Malaysia",
            "--currency=MYR",
            "--time-zone=Asia/Kuala_Lumpur",
            "--languages=ms,en",
            "--email=aduan@nccc.example",
        )
        for node in (bpkn, nccc):
            node.manage("node_keys", "init")
        cluster.start()
        yield cluster
    finally:
        cluster.teardown()


def thumbprints_in(text: str) -> set[str]:
    return set(re.findall(r"thumbprint ((?:[A-Za-z0-9_-]{1,4} ?){11})", text))


def test_a_new_agency_is_onboarded_from_documents_and_gets_a_forwarded_case(nodes, tmp_path):
    bpkn, nccc = nodes["ID-BPKN"], nodes["MY-NCCC"]
    assert "MY-NCCC" not in bpkn.manage("relay_log")

    # 1. Each exports its card; BPKN's travels as a file, NCCC's is fetched from its URL.
    bpkn_card = tmp_path / "bpkn.json"
    bpkn.manage("export_partner_card", "--output", str(bpkn_card))
    nccc_card = json.loads(nccc.manage("export_partner_card"))
    assert nccc_card["agency"]["code"] == "MY-NCCC"

    # 2. Each imports the other's card: stored as prospective, thumbprints shown.
    at_nccc = nccc.manage("import_partner_card", str(bpkn_card))
    at_bpkn = bpkn.manage("import_partner_card", f"{nccc.url}/.well-known/odr-partner.json")
    assert "stored MY-NCCC" in at_bpkn and "prospective" in at_bpkn

    # 3. Out of band, each reads its own thumbprints to the other, who compares them.
    bpkn_own = {grouped(key["thumbprint"]) for key in json.loads(bpkn_card.read_text())["keys"]}
    nccc_own = {grouped(key["thumbprint"]) for key in nccc_card["keys"]}
    assert thumbprints_in(at_nccc) == bpkn_own
    assert thumbprints_in(at_bpkn) == nccc_own
    # Unconfirmed, a partner cannot even be pinged.
    status, _out, err = bpkn.run_command("ping_partner", "MY-NCCC")
    assert status != 0 and "partner_not_confirmed" in err
    bpkn.manage("confirm_partner", "MY-NCCC")
    nccc.manage("confirm_partner", "ID-BPKN")

    # 4. Both enter the MoU; it is a draft, and activation waits for the connectivity check.
    for node, partner in ((bpkn, "MY-NCCC"), (nccc, "ID-BPKN")):
        created = node.manage(
            "mou",
            "create",
            REFERENCE,
            f"--partner={partner}",
            "--title=BPKN–NCCC cooperation on cross-border disputes",
            "--signed-on=2026-12-01",
            "--effective-from=2026-12-01",
            "--languages=en,ms,id",
            "--stages=merchant_contact,negotiation",
        )
        assert f"{REFERENCE} created as a draft: prospective" in created
    status, _out, err = bpkn.run_command("mou", "activate", REFERENCE, "--reason=Signed")
    assert status != 0 and "ping_required" in err

    # 5. Each pings the other: the signed pong tells the other side's state and the round trip.
    pong = bpkn.manage("ping_partner", "MY-NCCC", "--wait=90")
    assert f"pong from MY-NCCC (signed receipt applied): MoU {REFERENCE} is prospective here" in (
        pong
    )
    assert re.search(r"round trip \d+ ms; " + REFERENCE + " is pinged here", pong)
    assert "round trip" in nccc.manage("ping_partner", "ID-BPKN", "--wait=90")

    # 6. Both activate on the agreed date.
    reason = "--reason=Signed in Kuala Lumpur on 1 December 2026"
    assert f"{REFERENCE} is active" in bpkn.manage("mou", "activate", REFERENCE, reason)
    assert f"{REFERENCE} is active" in nccc.manage("mou", "activate", REFERENCE, reason)

    # 7. A BPKN consumer's case against a Malaysian shop goes to NCCC, and the receipt comes back.
    bpkn.dispute("caseworker", "budi", "--password", "a-long-test-password-1")
    reference = file_and_forward(
        bpkn,
        "budi",
        merchant_name="Kedai Elektronik Bangsar",
        merchant_website="https://kedai-bangsar.example.my",
        merchant_country="MY",
    )
    at_nccc = wait_status(nccc, reference, "forwarded")
    assert at_nccc["home_agency"] == "ID-BPKN" and at_nccc["partner_agency"] == "MY-NCCC"
    assert at_nccc["merchant"] == "Kedai Elektronik Bangsar"
    wait_delivered(bpkn, nccc, reference)
    [forward] = [
        row
        for row in outbound(bpkn.relay_log())
        if row.get("dispute") == reference and row.get("type") == "dispute.forward"
    ]
    assert forward["state"] == "acknowledged"
    assert forward["agency"] == "MY-NCCC"
