"""Filings per second and latency of POST /api/v1/disputes/ on a production-like server.

Starts everything it measures and removes it afterwards: its own PostgreSQL database (created,
migrated, seeded, dropped), a private Redis for the cache and throttle counters, an API client,
and gunicorn with ODR_ENV=production. Then two load runs against it:

* closed loop: ``--concurrency`` threads each send the next filing as soon as the previous
  answer arrives; the maximum throughput;
* open loop: filings are started at a fixed offered rate (``--rate``, 50/s) whatever the server
  does, and latency counts from the planned start, so a slow server cannot hide its queueing.

Prints one JSON line per run: mode, filings_per_s, p50_ms, p95_ms, p99_ms, errors and context.

    .venv/bin/python bench/intake.py [--duration 20] [--concurrency 8] [--rate 50] [--workers 4]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--mode both|closed|open]
        [--profile]   # one filing path through pyinstrument, in-process, printed as text
"""

from __future__ import annotations

import sys
from pathlib import Path

# Not this folder: bench/statistics.py and bench/queue.py (the statistics and queue benchmarks)
# would shadow the standard library's modules of those names, which this script and its
# libraries use.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
sys.path.insert(0, str(ROOT))


def filing(sequence: int) -> dict:
    return {
        "consumer_name": "Dewi Lestari",
        "consumer_email": f"dewi.{sequence}@example.id",
        "consumer_country": "ID",
        "consumer_language": "id",
        "merchant_name": "Seoul Gadget Store",
        "merchant_website": "https://seoulgadget.example.kr",
        "merchant_country": "KR",
        "purchase_date": "2026-10-01",
        "order_number": f"SGS-{sequence}",
        "amount": "1250000.00",
        "currency": "IDR",
        "payment_method": "card",
        "category": "electronics",
        "problem_types": ["non_delivery", "refund_refused"],
        "desired_remedy": "refund",
        "consumer_account": "Saya membayar headphone tetapi barang tidak pernah dikirim.",
        "filing_language": "id",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


def admin_sql(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement)


class Server:
    """A node in production mode on its own database, Redis and gunicorn."""

    def __init__(
        self, database_url: str, workers: int, threads: int = 1, worker_class: str = "gthread"
    ):
        self.admin_url = database_url
        self.database = f"bench_intake_{os.getpid()}"
        self.workers = workers
        self.threads = threads
        self.worker_class = worker_class
        self.port = free_port()
        # Short path: the Redis unix socket path must stay under 100 characters.
        self.data_dir = Path(tempfile.mkdtemp(prefix="odr-bench-"))
        self.gunicorn: subprocess.Popen | None = None
        self.key = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        from odr import embedded

        return {
            **os.environ,
            "ODR_ENV": "production",
            "ODR_NODE": "ID-BPKN",
            "ODR_DATA_DIR": str(self.data_dir),
            "ODR_PUBLIC_URL": "https://bench.odr.invalid",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": with_database(self.admin_url, self.database),
            "CELERY_BROKER_URL": embedded.broker_url(self.data_dir),
            # High enough never to refuse, so the throttle's cost is measured, not its refusals.
            "ODR_API_RATE": "10000000/min",
            "ODR_LOG_LEVEL": "WARNING",
        }

    def start(self) -> None:
        from odr import embedded

        admin_sql(self.admin_url, f'CREATE DATABASE "{self.database}"')
        embedded.start(self.data_dir)
        env = self.env()
        manage = [PYTHON, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
        subprocess.run(
            [*manage, "seed_agencies"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL
        )
        created = subprocess.run(
            [*manage, "api_client", "create", "Bench portal", "--scope", "disputes:create"],
            env=env,
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        self.key = created.stdout.strip()
        self.gunicorn = subprocess.Popen(
            [
                str(Path(PYTHON).parent / "gunicorn"),
                "odr.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                # gthread keeps connections alive between requests (sync closes each one);
                # with one thread it costs no more CPU than sync and saves a TCP handshake.
                "--worker-class",
                self.worker_class,
                *(["--threads", str(self.threads)] if self.worker_class == "gthread" else []),
                "--keep-alive",
                "30",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/api/schema/", timeout=2, headers=self.headers())
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 30 s")

    def cpu_seconds(self) -> float:
        """CPU time used so far by the gunicorn workers (user + system)."""
        import psutil

        total = 0.0
        for worker in psutil.Process(self.gunicorn.pid).children():
            try:
                times = worker.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def database_cpu_seconds(self) -> dict[int, float]:
        """CPU time used so far by each PostgreSQL backend serving the benchmark's database."""
        import psutil

        used = {}
        for process in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(process.info["cmdline"] or [])
            if f" {self.database} " not in f"{cmdline} ":
                continue
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            used[process.pid] = times.user + times.system
        return used

    def headers(self) -> dict:
        # The server runs behind a TLS-terminating proxy in production; say so, as it would.
        return {"X-Forwarded-Proto": "https", "Authorization": f"Api-Key {self.key}"}

    def stop(self) -> None:
        from odr import embedded

        if self.gunicorn is not None:
            self.gunicorn.send_signal(signal.SIGTERM)
            try:
                self.gunicorn.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
                self.gunicorn.wait()
        embedded.stop(self.data_dir)
        admin_sql(self.admin_url, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        shutil.rmtree(self.data_dir, ignore_errors=True)


class Recorder:
    def __init__(self):
        self.latencies: list[float] = []
        self.errors = 0
        self.error_samples: list[str] = []
        self.lock = threading.Lock()

    def add(self, seconds: float, ok: bool, sample: str = "") -> None:
        with self.lock:
            if ok:
                self.latencies.append(seconds)
            else:
                self.errors += 1
                if len(self.error_samples) < 3:
                    self.error_samples.append(sample[:200])

    def summary(self, mode: str, elapsed: float, **context) -> dict:
        values = sorted(self.latencies)

        def percentile(p: float) -> float | None:
            if not values:
                return None
            return round(values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000, 1)

        return {
            "mode": mode,
            "filings_per_s": round(len(values) / elapsed, 1),
            "p50_ms": percentile(50),
            "p95_ms": percentile(95),
            "p99_ms": percentile(99),
            "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else None,
            "filings": len(values),
            "errors": self.errors,
            "error_samples": self.error_samples,
            "duration_s": round(elapsed, 1),
            **context,
        }


class Connection:
    """A keep-alive HTTP/1.1 connection of one sending thread (the standard library's client).

    httpx cost the load generator about 2 ms of CPU per filing, taken from the 2 cores the
    server needs; this sends the same request (headers, JSON body) for about a third of that.
    """

    def __init__(self, server: Server, timeout: float = 30):
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
        # What httpx sent besides Host and Content-Length, which http.client adds.
        self.headers = {
            **server.headers(),
            "Content-Type": "application/json",
            "Accept": "*/*",
            "Accept-Encoding": "gzip, deflate",
            "Connection": "keep-alive",
            "User-Agent": "odr-bench",
        }

    def post(self, path: str, payload: dict, headers: dict) -> tuple[int, bytes]:
        # Compact JSON, as httpx sends it.
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            self.connection.request("POST", path, body, {**self.headers, **headers})
            response = self.connection.getresponse()
            return response.status, response.read()
        except Exception:
            self.connection.close()  # reconnects on the next request
            raise

    def close(self) -> None:
        self.connection.close()


def send(http: Connection, sequence: int, started: float, recorder: Recorder) -> None:
    try:
        status, body = http.post(
            "/api/v1/disputes/",
            filing(sequence),
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        ok = status == 201
        recorder.add(time.perf_counter() - started, ok, "" if ok else f"{status} {body[:180]!r}")
    except (OSError, http.client.HTTPException) as error:
        recorder.add(time.perf_counter() - started, False, repr(error))


def closed_loop(server: Server, duration: float, concurrency: int) -> dict:
    recorder = Recorder()
    counter = iter(range(10**9))
    counter_lock = threading.Lock()
    stop_at = time.perf_counter() + duration

    def worker():
        http = Connection(server)
        try:
            while time.perf_counter() < stop_at:
                with counter_lock:
                    sequence = next(counter)
                send(http, sequence, time.perf_counter(), recorder)
        finally:
            http.close()

    begin = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return recorder.summary("closed", time.perf_counter() - begin, concurrency=concurrency)


def open_loop(server: Server, duration: float, rate: float, pool: int = 16) -> dict:
    recorder = Recorder()
    local = threading.local()
    connections: list[Connection] = []

    def client() -> Connection:
        if not hasattr(local, "http"):
            local.http = Connection(server)
            connections.append(local.http)
        return local.http

    total = int(duration * rate)
    begin = time.perf_counter()
    with ThreadPoolExecutor(max_workers=pool) as executor:
        for sequence in range(total):
            planned = begin + sequence / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # pacing the offered load, not waiting for a result
            executor.submit(lambda s=sequence, p=planned: send(client(), 10**6 + s, p, recorder))
    elapsed = time.perf_counter() - begin
    for connection in connections:
        connection.close()
    return recorder.summary("open", elapsed, offered_per_s=rate)


def profile(server: Server, count: int = 100) -> None:
    """Filings through the whole Django stack, in-process, under pyinstrument (wall time) and
    cProfile (CPU time per function, cumulative), printed to stderr."""
    import cProfile
    import pstats

    from pyinstrument import Profiler

    os.environ.update(server.env())
    import django

    django.setup()
    from django.test import Client

    http = Client(
        SERVER_NAME="127.0.0.1",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_AUTHORIZATION=f"Api-Key {server.key}",
    )

    def file_some(base: int) -> None:
        for sequence in range(count):
            http.post(
                "/api/v1/disputes/",
                filing(base + sequence),
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            )

    file_some(2 * 10**6)  # warm up
    started = time.process_time()
    file_some(3 * 10**6)
    cpu_ms = (time.process_time() - started) * 1000 / count
    print(f"in-process CPU per filing (client included): {cpu_ms:.1f} ms", file=sys.stderr)
    # The fixed cost of any API request (middleware, key check, throttle, JSON), for comparison.
    started = time.process_time()
    for _ in range(count):
        http.get("/api/v1/coverage/?merchant_country=ID")
    cpu_ms = (time.process_time() - started) * 1000 / count
    print(f"in-process CPU per trivial API GET: {cpu_ms:.1f} ms", file=sys.stderr)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    file_some(4 * 10**6)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False), file=sys.stderr)
    # CPU time, not wall time: on a shared machine waiting for the CPU would swamp the picture.
    tracer = cProfile.Profile(timer=time.process_time)
    tracer.enable()
    file_some(5 * 10**6)
    tracer.disable()
    stats = pstats.Stats(tracer, stream=sys.stderr).sort_stats("cumulative")
    stats.print_stats(r"odr|api|disputes|agencies|portal|rest_framework/(views|serializers)", 40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", choices=["gthread", "sync"], default="gthread")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument(
        "--client-nice",
        type=int,
        default=5,
        help="Lower the load generator's priority by this much once the server runs, so that "
        "it does not take CPU from the server on a small machine (0: same priority).",
    )
    parser.add_argument("--mode", choices=["both", "closed", "open"], default="both")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="A PostgreSQL server where the benchmark may create and drop its own database.",
    )
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    server = Server(args.database_url, args.workers, args.threads, args.worker_class)
    try:
        server.start()
        if args.client_nice:
            os.nice(args.client_nice)  # gunicorn started before: it keeps its priority
        context = {
            "workers": args.workers,
            "worker_class": args.worker_class,
            "threads": args.threads,
            "cpus": os.cpu_count(),
            "load_before": os.getloadavg(),
        }
        # Warm every worker (imports, connections) so the first seconds don't skew the figures.
        closed_loop(server, 2, args.concurrency)
        runs = []
        if args.mode in ("both", "closed"):
            runs.append(lambda: closed_loop(server, args.duration, args.concurrency))
        if args.mode in ("both", "open"):
            runs.append(lambda: open_loop(server, args.duration, args.rate))
        for run in runs:
            cpu_before = server.cpu_seconds()
            database_before = server.database_cpu_seconds()
            client_before = time.process_time()
            result = run()
            filings = max(1, result["filings"])

            def per_filing(seconds: float, filings: int = filings) -> float:
                return round(seconds * 1000 / filings, 1)

            # CPU per filing does not depend much on what else the machine is doing.
            result["server_cpu_ms_per_filing"] = per_filing(server.cpu_seconds() - cpu_before)
            # Per backend: gunicorn reconnects now and then (CONN_MAX_AGE), and a backend that
            # ended during the run is left out (a slight undercount), not subtracted.
            database_after = server.database_cpu_seconds()
            result["database_cpu_ms_per_filing"] = per_filing(
                sum(cpu - database_before.get(pid, 0.0) for pid, cpu in database_after.items())
            )
            result["client_cpu_ms_per_filing"] = per_filing(time.process_time() - client_before)
            print(json.dumps({**result, **context, "load_after": os.getloadavg()}), flush=True)
        if args.profile:
            profile(server)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
