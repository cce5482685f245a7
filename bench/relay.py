"""Relay benchmark: two real nodes, PostgreSQL and Redis, real workers, real HTTP on loopback.

    .venv/bin/python bench/relay.py --disputes 200 --messages 800
    .venv/bin/python bench/relay.py --disputes 100 --messages 500 --rate 50
    .venv/bin/python bench/relay.py --disputes 50 --messages 200 --profile var/bench/profile.txt

BPKN and KCA each get a fresh PostgreSQL database (created on the server given by --postgres and
dropped afterwards) and share the Redis given by --redis under unique key prefixes. Their
directories under /tmp (data, logs) are removed after a run that succeeded, kept after one that
failed. At BPKN, --producers processes (2) each file their share of N disputes, then all at once
forward them to KCA and post their share of M messages on them; each is one case packet.
Without --rate the packets are produced as fast as the producers can write them; with --rate R
they are offered at R packets per second in all. The CPU figures start after the filing (and its
emails) and end when every packet is receipted and every email the packets owe the consumer is
sent.

For every packet, latency is outbox commit (``created_at`` of BPKN's outbound row) to the moment
KCA applied it and signed its receipt (``applied_at`` of KCA's inbound row; the receipt's own
time has whole seconds only). BPKN then stores the receipt a few milliseconds later (verify and
one UPDATE). Throughput is packets / (last applied - first commit). Peak RSS is the largest sum
over a worker's process group (main process + pool), sampled every 0.2 s with psutil. The result
is ONE JSON line on stdout; progress goes to stderr.

--profile runs pyinstrument over BPKN delivering a batch of queued packets itself (the same
``relay.delivery.deliver`` the worker task calls) and writes the text report to the given file.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Not this folder: bench/statistics.py and bench/queue.py (the statistics and queue benchmarks)
# would shadow the standard library's modules of those names, which this script and its
# libraries use.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from datetime import datetime
from pathlib import Path

import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from odr.cluster import LocalCluster, Node, wait_for

ROOT = Path(__file__).resolve().parent.parent

GENERATE = """
import datetime as dt, json, os, pathlib, time
from decimal import Decimal
from django.contrib.auth import get_user_model
from django.utils import timezone
from agencies.models import Category, Country
from disputes import services
from disputes.models import ProblemType, Remedy

N, M, RATE, BARRIER = {n}, {m}, {rate}, {barrier!r}
actor = services.Actor.caseworker(get_user_model().objects.get(username="budi"))
fields = dict(
    actor=services.Actor.consumer("Dewi Lestari"), consumer_name="Dewi Lestari",
    consumer_email="dewi@example.id", consumer_country=Country.objects.get(code="ID"),
    consumer_language="id", merchant_name="Seoul Gadget Store",
    merchant_country=Country.objects.get(code="KR"), purchase_date=dt.date(2026, 10, 1),
    amount=Decimal("1250000"), currency="IDR", payment_method="card",
    category=Category.objects.get(code="electronics"),
    problem_types=list(ProblemType.objects.filter(code="non_delivery")),
    desired_remedy=Remedy.objects.get(code="refund"),
    consumer_account="Saya membayar headphone tetapi barang tidak pernah dikirim.",
    filing_language="id", intake_channel="web",
)
disputes = []
for _ in range(N):
    dispute = services.file_dispute(**fields)
    disputes.append(services.start_review(dispute, actor=actor))
if BARRIER:
    # Every producer has filed its disputes: start together when the benchmark says go.
    barrier = pathlib.Path(BARRIER)
    (barrier / f"ready-{{os.getpid()}}").touch()
    while not (barrier / "go").exists():
        time.sleep(0.005)
mark = timezone.now()
start = time.monotonic()
cpu_start = time.process_time()
produced = 0

def pace():
    # Offered load: packet i is due at start + i / RATE.
    if RATE:
        delay = start + produced / RATE - time.monotonic()
        if delay > 0:
            time.sleep(delay)

for index, dispute in enumerate(disputes):
    pace()
    # As a caseworker's next request would, the messages start from the forwarded dispute.
    disputes[index] = services.forward_dispute(dispute, actor=actor)
    produced += 1
for k in range(M):
    pace()
    services.post_message(disputes[k % N], actor=actor, body=f"Message {{k}}", language="en")
    produced += 1
print(json.dumps({{"mark": mark.isoformat(), "produced": produced,
                  "produce_s": time.monotonic() - start,
                  "produce_cpu_s": time.process_time() - cpu_start}}), flush=True)
if BARRIER:
    # Kept open until the benchmark has read the database's CPU, which counts this
    # producer's connection.
    while not (barrier / "done").exists():
        time.sleep(0.05)
"""

# Polled from this process over one connection per node: a `manage.py shell` per poll would
# spend the CPU the benchmark is measuring.
STATE_SQL = (
    "SELECT pid, state, extract(epoch FROM created_at) FROM relay_outboundpacket"
    " WHERE created_at >= %s"
)

# The receipt's own time ("at") has whole seconds only; the receiver's applied_at has
# microseconds, on the same clock, and the receipt is signed right after it.
APPLIED_SQL = (
    "SELECT pid, extract(epoch FROM applied_at), extract(epoch FROM received_at)"
    " FROM relay_inboundpacket WHERE state = 'applied' AND applied_at IS NOT NULL"
)


UNSENT_EMAILS_SQL = "SELECT count(*) FROM portal_notification WHERE sent_at IS NULL"


PROFILE = """
from pyinstrument import Profiler
from relay import delivery
from relay.models import OutboundPacket
queued = OutboundPacket.objects.filter(state="queued").order_by("pk")
ids = list(queued.values_list("pk", flat=True))
profiler = Profiler(interval=0.0005)
profiler.start()
for packet_id in ids:
    delivery.deliver(packet_id)
profiler.stop()
open({path!r}, "w").write(
    f"pyinstrument: relay.delivery.deliver over {{len(ids)}} queued packets\\n"
    + profiler.output_text(unicode=True, color=False, show_all=False)
)
print(len(ids))
"""


SEAL = """
import json
from django.utils import timezone
from relay import delivery
from relay.models import OutboundPacket
# Sealed as deliver() would, so the receiver can be profiled on the exact bytes it would get.
queued = OutboundPacket.objects.filter(state="queued").order_by("pk")
sealed = list(queued.select_related("recipient"))
for packet in sealed:
    delivery._seal(packet, timezone.now())
delivery._store_sealed(sealed)
open({path!r}, "w").write(json.dumps(list(queued.values_list("sealed", flat=True))))
"""

RECEIVE = """
import json
from pyinstrument import Profiler
from relay import inbox
sealed = json.load(open({sealed!r}))
profiler = Profiler(interval=0.0005)
profiler.start()
answers = [inbox.receive_packet(raw.encode(), content_type="application/jose")[0]
           for raw in sealed]
profiler.stop()
open({path!r}, "w").write(
    f"pyinstrument: relay.inbox.receive_packet over {{len(sealed)}} packets "
    f"(HTTP statuses {{sorted(set(answers))}})\\n"
    + profiler.output_text(unicode=True, color=False, show_all=False)
)
print(len(sealed))
"""


def server_cpu_seconds(nodes: list[Node]) -> dict[str, float]:
    """User + system CPU of each node's web and worker process groups, by "NODE web|worker"."""
    used = {}
    for node in nodes:
        for name in ("web", "worker"):
            process = node.processes.get(name)
            if not process or not process.alive():
                continue
            total = 0.0
            try:
                main = psutil.Process(process.pid)
                for each in [main, *main.children(recursive=True)]:
                    times = each.cpu_times()
                    total += times.user + times.system
            except psutil.Error:
                continue
            used[f"{node.code} {name}"] = total
    return used


class RssSampler(threading.Thread):
    """The peak resident memory of each node's worker process group."""

    def __init__(self, nodes: list[Node]):
        super().__init__(daemon=True)
        self.nodes = nodes
        self.peak_bytes = 0
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(0.2):
            for node in self.nodes:
                worker = node.processes.get("worker")
                if not worker or not worker.alive():
                    continue
                try:
                    main = psutil.Process(worker.pid)
                    total = sum(
                        process.memory_info().rss
                        for process in [main, *main.children(recursive=True)]
                    )
                except psutil.Error:
                    continue
                self.peak_bytes = max(self.peak_bytes, total)


def process_cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def database_cpu_seconds(nodes: list[Node]) -> dict[int, float]:
    """CPU used so far by each PostgreSQL backend serving one of the nodes' databases."""
    names = {node.database_url.rsplit("/", 1)[-1] for node in nodes}
    used = {}
    for process in psutil.process_iter(["cmdline"]):
        words = " ".join(process.info["cmdline"] or []).split()
        if not names.intersection(words):
            continue
        try:
            used[process.pid] = process_cpu_seconds(process.pid)
        except psutil.Error:
            continue
    return used


def wait_for_emails(database, what: str) -> None:
    """Until every consumer email of the node is sent."""
    wait_for(
        lambda: not database.execute(UNSENT_EMAILS_SQL).fetchone()[0],
        timeout=600,
        interval=0.2,
        what=what,
    )


class Producers(contextlib.AbstractContextManager):
    """K processes at BPKN, each filing its share of the disputes, then all writing their
    packets at once (forwards, then messages) from the moment the benchmark says go."""

    def __init__(self, node: Node, barrier: Path, count: int, disputes: int, messages: int, rate):
        self.barrier = barrier
        self.processes = []
        self.logs = []
        for index in range(count):
            share = GENERATE.format(
                n=disputes // count + (index < disputes % count),
                m=messages // count + (index < messages % count),
                rate=rate / count,
                barrier=str(barrier),
            )
            self.logs.append((barrier / f"producer-{index}.log").open("w"))
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", "shell", "--no-imports", "-c", share],
                    cwd=ROOT,
                    env=node.env,
                    stdout=subprocess.PIPE,
                    stderr=self.logs[-1],
                    text=True,
                )
            )

    def _check_alive(self) -> None:
        for index, process in enumerate(self.processes):
            if process.poll() is not None:
                log_text = (self.barrier / f"producer-{index}.log").read_text()[-3000:]
                raise RuntimeError(f"producer {index} exited {process.returncode}:\n{log_text}")

    def wait_ready(self) -> None:
        def ready():
            self._check_alive()
            return len(list(self.barrier.glob("ready-*"))) == len(self.processes)

        wait_for(ready, timeout=1800, interval=0.1, what="the producers' disputes")

    def go(self) -> list[dict]:
        (self.barrier / "go").touch()
        return [json.loads(process.stdout.readline()) for process in self.processes]

    def finish(self) -> None:
        (self.barrier / "done").touch()
        for process in self.processes:
            process.wait(timeout=60)

    def __exit__(self, *exc_info) -> None:
        (self.barrier / "done").touch()
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout:
                process.stdout.close()
        for log_file in self.logs:
            log_file.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--disputes", type=int, default=200, help="forwarded disputes (N)")
    parser.add_argument("--messages", type=int, default=800, help="messages on them (M)")
    parser.add_argument("--rate", type=float, default=0, help="offered packets/s (0: flat out)")
    parser.add_argument(
        "--producers",
        type=int,
        default=2,
        help="processes writing the packets at once, as caseworkers do (each takes a share)",
    )
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool size per node")
    parser.add_argument("--pool", default="prefork", help="worker pool: prefork or threads")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--profile", metavar="FILE", help="profile BPKN's deliveries instead")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for both nodes, e.g. --env ODR_RELAY_LANES=4 (repeatable)",
    )
    args = parser.parse_args()
    if args.disputes < 1:
        parser.error("--disputes must be at least 1")
    if not 1 <= args.producers <= args.disputes:
        parser.error("--producers must be between 1 and --disputes")
    if any("=" not in setting for setting in args.env):
        parser.error("--env takes NAME=VALUE")

    base = Path(tempfile.mkdtemp(prefix="odr-bench-", dir="/tmp"))
    succeeded = False
    cluster = LocalCluster(
        base,
        ("ID-BPKN", "KR-KCA"),
        postgres_url=args.postgres,
        redis_url=args.redis,
        env_name="test",
        extra_env={
            "ODR_LOG_LEVEL": "WARNING",
            "ODR_RELAY_SWEEP_SECONDS": "5",
            # As in production (odr/settings.py): connections kept, not opened per task.
            "DATABASE_CONN_MAX_AGE": "60",
        }
        | dict(setting.split("=", 1) for setting in args.env),
    )
    # Closed before the teardown drops the databases.
    connections = contextlib.ExitStack()
    try:
        log("preparing two nodes (PostgreSQL databases, seed, keys)…")
        cluster.prepare()
        bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]
        for node in (bpkn, kca):
            node.start_web()
            node.start_worker(concurrency=args.concurrency, pool=args.pool)
            node.start_beat()
        for node in (bpkn, kca):
            node.wait_web()
            node.wait_worker()
        bpkn.dispute("caseworker", "budi", "--password", "a-long-bench-password-1")

        if args.profile:
            status = profile(bpkn, kca, args)
            succeeded = True
            return status

        bpkn_db = connections.enter_context(psycopg.connect(bpkn.database_url, autocommit=True))
        kca_db = connections.enter_context(psycopg.connect(kca.database_url, autocommit=True))
        total = args.disputes + args.messages
        barrier = base / "producers"
        barrier.mkdir()
        log(f"filing {args.disputes} disputes in {args.producers} producer(s)…")
        producers = connections.enter_context(
            Producers(bpkn, barrier, args.producers, args.disputes, args.messages, args.rate)
        )
        producers.wait_ready()
        # Their filing receipts and "under review" emails are not part of the measurement.
        wait_for_emails(bpkn_db, "the filing emails")
        sampler = RssSampler([bpkn, kca])
        sampler.start()
        load_before = round(psutil.getloadavg()[0], 1)
        cpu_before = server_cpu_seconds([bpkn, kca])
        database_before = database_cpu_seconds([bpkn, kca])
        log(f"producing {total} packets" + (f" at {args.rate}/s" if args.rate else "") + "…")
        results = producers.go()
        produced = {
            "produce_s": max(result["produce_s"] for result in results),
            "produce_cpu_s": sum(result["produce_cpu_s"] for result in results),
        }
        mark = min(datetime.fromisoformat(result["mark"]) for result in results)

        def all_acknowledged():
            current = bpkn_db.execute(STATE_SQL, (mark,)).fetchall()
            done = sum(1 for _pid, state, _created in current if state == "acknowledged")
            return len(current) >= total and done == len(current) and current

        final = wait_for(all_acknowledged, timeout=1800, interval=0.5, what="all receipts")
        # The consumer emails the messages owe go out in batches, a little later: the CPU
        # figures count them too.
        wait_for_emails(bpkn_db, "the consumer emails")
        cpu_after = server_cpu_seconds([bpkn, kca])
        cpu_by_process = {
            name: used - cpu_before.get(name, 0.0) for name, used in cpu_after.items()
        }
        cpu_used = sum(cpu_by_process.values())
        database_after = database_cpu_seconds([bpkn, kca])
        database_used = sum(
            used - database_before.get(pid, 0.0) for pid, used in database_after.items()
        )
        producers.finish()
        sampler.stopped.set()
        sampler.join()
        arrived = {
            pid: (float(at), float(received))
            for pid, at, received in kca_db.execute(APPLIED_SQL).fetchall()
        }
        applied = {pid: at for pid, (at, _received) in arrived.items()}
        # Arrived before the packet ahead of it in its dispute, so applied only later.
        waited = sum(1 for at, received in arrived.values() if at > received)
        final = [(pid, state, float(created)) for pid, state, created in final]
        latencies = [(applied[pid] - created) * 1000 for pid, _state, created in final]
        first_commit = min(created for _pid, _state, created in final)
        last_receipt = max(applied[pid] for pid, _state, _created in final)
        result = {
            "bench": "relay",
            "packets": len(final),
            "disputes": args.disputes,
            "messages": args.messages,
            "offered_rate": args.rate or None,
            "produce_s": round(produced["produce_s"], 2),
            "packets_per_s": round(len(final) / (last_receipt - first_commit), 1),
            "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1),
            "max_ms": round(max(latencies), 1),
            "applied_after_waiting": waited,
            "peak_worker_rss_mb": round(sampler.peak_bytes / 2**20, 1),
            # Both nodes' gunicorn and workers; not PostgreSQL, Redis or the producer.
            "server_cpu_ms_per_packet": round(cpu_used * 1000 / len(final), 1),
            "server_cpu_ms_per_packet_by_process": {
                name: round(used * 1000 / len(final), 1)
                for name, used in sorted(cpu_by_process.items())
            },
            # The producer (disputes.services writing each change with its outbox row) and
            # both nodes' PostgreSQL backends.
            "producer_cpu_ms_per_packet": round(produced["produce_cpu_s"] * 1000 / total, 1),
            "database_cpu_ms_per_packet": round(database_used * 1000 / len(final), 1),
            "load_before": load_before,
            "load_after": round(psutil.getloadavg()[0], 1),
            "producers": args.producers,
            "worker_concurrency": args.concurrency,
            "worker_pool": args.pool,
            "settings": dict(setting.split("=", 1) for setting in args.env),
            "cpus": psutil.cpu_count(),
        }
        print(json.dumps(result), flush=True)
        succeeded = True
        return 0
    finally:
        connections.close()
        cluster.teardown()
        if succeeded:
            shutil.rmtree(base, ignore_errors=True)
        else:
            log(f"the nodes' logs and data are kept in {base}")


def profile(bpkn: Node, kca: Node, args) -> int:
    """Profile both ends with pyinstrument: KCA receiving, then BPKN delivering.

    BPKN's worker is stopped while the packets are produced, so they stay queued. They are
    sealed and handed to KCA's ``receive_packet`` (what its inbox view calls) under the profiler;
    then BPKN delivers them itself with ``deliver`` (what the worker task calls), now meeting
    KCA's answer for packets it already has.
    """
    bpkn.stop("worker")
    bpkn.stop("beat")
    bpkn.shell(
        GENERATE.format(n=args.disputes, m=args.messages, rate=0, barrier=None), timeout=3600
    )
    path = Path(args.profile).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    sealed = path.with_suffix(".sealed.json")
    receiver = path.with_name(path.stem + "-receiver" + path.suffix)
    bpkn.shell(SEAL.format(path=str(sealed)), timeout=3600)
    count = kca.shell(RECEIVE.format(sealed=str(sealed), path=str(receiver)), timeout=3600)
    log(f"profiled {count.strip()} receptions into {receiver}")
    sealed.unlink()
    count = bpkn.shell(PROFILE.format(path=str(path)), timeout=3600).strip()
    log(f"profiled {count} deliveries into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
