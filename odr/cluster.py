"""Local clusters of real nodes: one agency per node, each in its own processes and data dir.

The multi-node tests, the fault tests, the demo and the relay benchmark all need the same thing:
several nodes of this project running side by side on one machine exactly as they would run in
production (gunicorn, a Celery worker, Celery beat, each node with its own database and broker),
talking to each other over HTTP on loopback. This module prepares and starts them, checks they
are healthy with deadlines, lets a caller stop, kill and restart single processes, runs
``manage.py`` commands in a node's environment, and tears everything down.

Every process is started in its own session, so stopping one means signalling its whole process
group: a Celery worker's pool children and gunicorn's workers never outlive their parent.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from odr import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
AGENCY_CODES = ("ID-BPKN", "KR-KCA", "GB-UKICC")
# Settings of the calling process that must never leak into a node's environment.
_SCRUBBED_ENV = (
    "DATABASE_URL",
    "DATABASE_TEST_NAME",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "ODR_NODE",
    "ODR_DATA_DIR",
    "ODR_PUBLIC_URL",
    "ODR_KEYS_DIR",
    "ODR_REDIS_KEY_PREFIX",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "PYTEST_CURRENT_TEST",
    "PYTEST_XDIST_WORKER",
)


class ClusterError(RuntimeError):
    """A node could not be prepared, did not become healthy, or a command in it failed."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    condition: Callable[[], object], *, timeout: float, interval: float = 0.1, what: str = ""
):
    """Poll ``condition`` until it returns something truthy; raise ClusterError at the deadline."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = condition()
        except Exception as error:  # the condition may fail while a process is still starting
            result, last_error = None, error
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def _python_bin() -> str:
    return sys.executable


@dataclass
class Process:
    """One long-running process of a node, started in its own process group."""

    name: str
    popen: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the group, then SIGKILL whatever is left when the deadline passes."""
        if self.alive():
            self.signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.popen.wait(5)
        # Children (pool processes) may outlive the group leader by a moment.
        self.signal_group(signal.SIGKILL)

    def kill(self) -> None:
        """kill -9 of the whole process group, as a crashed machine would."""
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def stop_processes(processes: Iterable[Process], timeout: float = 15.0) -> None:
    """SIGTERM every group at once, so their graceful shutdowns overlap, then stop stragglers."""
    processes = list(processes)
    for process in processes:
        if process.alive():
            process.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.popen.wait(max(0.1, deadline - time.monotonic()))
    for process in processes:
        process.stop(timeout=1)


class CommandProcess:
    """A node's ``manage.py`` commands, run one after another in one long-lived process.

    It is the node's own code in the node's environment (``python -m odr.cluster commands``),
    reading one JSON request per line and answering with the exit status and output.
    """

    def __init__(self, node: Node):
        logs = node.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.stderr = open(logs / "commands.log", "ab")  # noqa: SIM115 - closed in close()
        self.popen = subprocess.Popen(
            [_python_bin(), "-m", "odr.cluster", "commands"],
            cwd=BASE_DIR,
            env=node.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            start_new_session=True,
            text=True,
            encoding="utf-8",
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def run(self, args: list[str], *, input: str | None, timeout: float) -> tuple[int, str, str]:
        with self.lock:
            request = json.dumps({"args": args, "input": input or ""})
            self.popen.stdin.write(request + "\n")
            self.popen.stdin.flush()
            answer: list[str] = []
            reader = threading.Thread(
                target=lambda: answer.append(self.popen.stdout.readline()), daemon=True
            )
            reader.start()
            reader.join(timeout)
            if not answer or not answer[0]:
                self.close()
                raise ClusterError(f"manage.py {' '.join(args)}: no answer within {timeout:.0f}s")
            reply = json.loads(answer[0])
            return reply["status"], reply["stdout"], reply["stderr"]

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.popen.stdin.close()
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)
        self.stderr.close()


def _serve_commands() -> None:
    """The loop of a CommandProcess: run each requested management command, answer as JSON."""
    import io

    import django

    channel_in, channel_out = sys.stdin, sys.stdout
    django.setup()
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db import connections

    for line in channel_in:
        request = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        status = 0
        sys.stdin = io.StringIO(request["input"])
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                call_command(*request["args"], stdout=out, stderr=err)
        except CommandError as error:
            err.write(f"CommandError: {error}\n")
            status = 1
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
        except Exception:
            import traceback

            err.write(traceback.format_exc())
            status = 1
        finally:
            sys.stdin = channel_in
            # The next command must see what the web process and the worker wrote meanwhile.
            connections.close_all()
        channel_out.write(
            json.dumps({"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()})
            + "\n"
        )
        channel_out.flush()


@dataclass
class Node:
    """One agency's node: its settings, its database and broker, and its processes."""

    code: str
    data_dir: Path
    port: int
    database_url: str
    broker_url: str
    key_prefix: str
    env_name: str = "test"
    extra_env: dict[str, str] = field(default_factory=dict)
    embedded_broker: bool = True
    # The relay's key endpoint is the health check; without the relay, the admin login page.
    health_path: str = "/.well-known/jwks.json"
    processes: dict[str, Process] = field(default_factory=dict)
    _worker_serial: int = 0
    _commands: CommandProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def inbox_url(self) -> str:
        return f"{self.url}/relay/inbox/"

    @property
    def queue(self) -> str:
        return f"odr.{self.code.lower()}"

    @property
    def label(self) -> str:
        return self.code.lower()

    @property
    def env(self) -> dict[str, str]:
        environ = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "odr.settings",
                "ODR_ENV": self.env_name,
                "ODR_NODE": self.code,
                "ODR_DATA_DIR": str(self.data_dir),
                "ODR_PUBLIC_URL": self.url,
                "DATABASE_URL": self.database_url,
                "CELERY_BROKER_URL": self.broker_url,
                "ODR_REDIS_KEY_PREFIX": self.key_prefix,
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "PYTHONUNBUFFERED": "1",
                "ODR_RELAY_SWEEP_SECONDS": "1",
                # As in production: a new PostgreSQL connection for every request or task cost
                # more than a small packet's whole work.
                "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
            }
        )
        environ.update(self.extra_env)
        return environ

    # --- one-off commands ------------------------------------------------------------------

    def run_command(
        self, *args: str, input: str | None = None, timeout: float = 180
    ) -> tuple[int, str, str]:
        """Run ``manage.py ARGS`` in this node's environment: (exit status, stdout, stderr).

        Commands go to the node's command process, which keeps Django loaded between commands
        (starting Django takes a second or more; tests and the demo run hundreds of commands).
        """
        if self._commands is None or not self._commands.alive():
            self._commands = CommandProcess(self)
        return self._commands.run(list(args), input=input, timeout=timeout)

    def manage(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 180
    ) -> str:
        """Run ``manage.py ARGS`` in this node's environment and return its standard output."""
        status, out, err = self.run_command(*args, input=input, timeout=timeout)
        if check and status != 0:
            raise ClusterError(
                f"{self.code}: manage.py {' '.join(args)} exited {status}\n"
                f"{out[-2000:]}\n{err[-4000:]}"
            )
        return out

    def shell(self, code: str, *, check: bool = True, timeout: float = 180) -> str:
        """Run Python code in ``manage.py shell`` (the node's settings and database)."""
        return self.manage("shell", "--no-imports", "-c", code, check=check, timeout=timeout)

    def relay_log(self) -> list[dict]:
        """The relay's packet log of this node, one dict per packet."""
        out = self.manage("relay_log", "--json")
        return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]

    def dispute(self, *args: str, input: str | None = None) -> str:
        """Run the operator CLI (``manage.py dispute ...``) and return its output, stripped."""
        return self.manage("dispute", *args, input=input).strip()

    def show(self, reference: str) -> dict | None:
        """The dispute as this node sees it (``dispute show --json``), or None if it has none."""
        status, out, err = self.run_command("dispute", "show", reference, "--json")
        if status != 0:
            if "not_found" in err:
                return None
            raise ClusterError(f"{self.code}: dispute show {reference} failed\n{err}")
        return json.loads(out)

    def set_inbox_url(self, agency_code: str, url: str) -> None:
        """Change where this node sends packets for an agency (e.g. through a fault proxy)."""
        self.shell(
            "from agencies.models import Agency; "
            f"Agency.objects.filter(code={agency_code!r}).update(inbox_url={url!r})"
        )

    # --- the broker ------------------------------------------------------------------------

    def start_broker(self) -> None:
        if self.embedded_broker:
            embedded.start(self.data_dir)

    def stop_broker(self) -> None:
        if self.embedded_broker:
            embedded.stop(self.data_dir)

    def redis(self):
        """A client of this node's broker (for fault tests on a private, embedded Redis)."""
        import redis

        if self.broker_url.startswith("redis+socket://"):
            return redis.Redis(unix_socket_path=self.broker_url.removeprefix("redis+socket://"))
        return redis.Redis.from_url(self.broker_url)

    # --- long-running processes ------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str]) -> Process:
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{name}.log"
        log = open(log_path, "ab")  # noqa: SIM115 - the child owns it once started
        try:
            popen = subprocess.Popen(
                argv,
                cwd=BASE_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        process = Process(name, popen, log_path)
        self.processes[name] = process
        return process

    def start_web(self) -> Process:
        return self._spawn(
            "web",
            [
                _python_bin(),
                "-m",
                "gunicorn",
                "odr.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                "--access-logfile",
                "-",
            ],
        )

    @property
    def worker_name(self) -> str:
        return f"{self.label}-{self._worker_serial}@localhost"

    def start_worker(self, concurrency: int = 2, pool: str = "prefork") -> Process:
        """``pool="threads"`` suits a relay worker: a delivery mostly waits for the partner's
        answer, and threads wait in one process instead of one process (~100 MB) each."""
        self._worker_serial += 1
        return self._spawn(
            "worker",
            [
                _python_bin(),
                "-m",
                "celery",
                "-A",
                "odr",
                "worker",
                "-Q",
                self.queue,
                "-n",
                self.worker_name,
                "--concurrency",
                str(concurrency),
                "--pool",
                pool,
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
        )

    def start_beat(self) -> Process:
        return self._spawn(
            "beat",
            [
                _python_bin(),
                "-m",
                "celery",
                "-A",
                "odr",
                "beat",
                "--schedule",
                str(self.data_dir / "celerybeat-schedule"),
                "--pidfile",
                str(self.data_dir / "celerybeat.pid"),
                "--loglevel",
                "INFO",
            ],
        )

    def web_healthy(self) -> bool:
        response = httpx.get(f"{self.url}{self.health_path}", timeout=2)
        return response.status_code == 200

    def worker_healthy(self) -> bool:
        """True once the current worker answers a ping over this node's broker.

        The ping is sent from the node's command process: there Celery's settings are the
        node's own (an app built here would prefer this process's CELERY_BROKER_URL).
        """
        out = self.shell(
            "from odr.celery import app; "
            f"print(repr(app.control.ping(destination=[{self.worker_name!r}], timeout=1.0)))"
        )
        return f"'{self.worker_name}'" in out

    def _wait(self, name: str, check: Callable[[], bool], timeout: float) -> None:
        process = self.processes[name]

        def ready():
            if not process.alive():
                raise ClusterError(
                    f"{self.code} {name} exited with {process.popen.returncode}:\n"
                    + process.log_tail()
                )
            return check()

        try:
            wait_for(ready, timeout=timeout, interval=0.2, what=f"{self.code} {name}")
        except ClusterError as error:
            if "exited with" in str(error):
                raise
            raise ClusterError(f"{error}\n--- {name} log ---\n{process.log_tail()}") from None

    def wait_web(self, timeout: float = 60) -> None:
        self._wait("web", self.web_healthy, timeout)

    def wait_worker(self, timeout: float = 60) -> None:
        self._wait("worker", self.worker_healthy, timeout)

    def wait_beat(self, timeout: float = 60) -> None:
        # Beat has no ping; it is up once it has logged its start and is still running.
        process = self.processes["beat"]
        self._wait("beat", lambda: "beat: Starting" in process.log_path.read_text("utf-8"), timeout)

    def start(self, timeout: float = 90) -> None:
        """Start web, worker and beat and wait until web and worker answer."""
        self.start_broker()
        self.start_web()
        self.start_worker()
        self.start_beat()
        self.wait_web(timeout)
        self.wait_worker(timeout)
        self.wait_beat(timeout)

    def stop(self, name: str) -> None:
        if process := self.processes.get(name):
            process.stop()

    def kill(self, name: str) -> None:
        if process := self.processes.get(name):
            process.kill()

    def restart(self, name: str, timeout: float = 90) -> None:
        self.stop(name)
        {"web": self.start_web, "worker": self.start_worker, "beat": self.start_beat}[name]()
        if name == "web":
            self.wait_web(timeout)
        elif name == "worker":
            self.wait_worker(timeout)
        else:
            self.wait_beat(timeout)

    def stop_all(self) -> None:
        if self._commands is not None:
            self._commands.close()
            self._commands = None
        stop_processes(self.processes.values())


class LocalCluster:
    """Several nodes on loopback, prepared, keyed and partnered, ready to relay packets.

    ``postgres_url`` (a server URL, normally its ``postgres`` database) makes each node get a
    fresh PostgreSQL database, dropped on teardown; without it each node uses a SQLite file in
    its data dir. ``redis_url`` makes the nodes share that Redis with a unique key prefix per
    node and run; without it each node starts its own embedded Redis.
    """

    def __init__(
        self,
        base_dir: Path | str,
        codes: Iterable[str] = AGENCY_CODES,
        *,
        postgres_url: str | None = None,
        redis_url: str | None = None,
        env_name: str = "test",
        extra_env: dict[str, str] | None = None,
        fresh: bool = True,
        relay: bool = True,
        ports: dict[str, int] | None = None,
    ):
        self.base_dir = Path(base_dir)
        self.codes = list(codes)
        self.postgres_url = postgres_url
        self.redis_url = redis_url
        self.env_name = env_name
        self.extra_env = dict(extra_env or {})
        self.fresh = fresh
        # Without the relay (keys, jwks endpoint) the harness still starts migrated, seeded nodes.
        self.relay = relay
        # Preferred ports (the demo's stable URLs); a busy one is replaced by a free one.
        self.ports = dict(ports or {})
        self.run_id = secrets.token_hex(4)
        self.nodes: dict[str, Node] = {}
        self._databases: list[str] = []

    def __getitem__(self, code: str) -> Node:
        return self.nodes[code]

    def __enter__(self) -> LocalCluster:
        try:
            self.prepare()
            self.start()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.teardown()

    # --- preparation -----------------------------------------------------------------------

    def _database_for(self, code: str, data_dir: Path) -> str:
        if not self.postgres_url:
            return f"sqlite:///{data_dir / 'db.sqlite3'}"
        import psycopg

        name = f"odr_{code.lower().replace('-', '_')}_{self.run_id}"
        with psycopg.connect(self.postgres_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        self._databases.append(name)
        parts = urlsplit(self.postgres_url)
        return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))

    def _drop_databases(self) -> None:
        if not (self.postgres_url and self._databases):
            return
        import psycopg

        with psycopg.connect(self.postgres_url, autocommit=True) as connection:
            for name in self._databases:
                with contextlib.suppress(psycopg.Error):
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._databases.clear()

    def _port_for(self, code: str) -> int:
        wanted = self.ports.get(code)
        if wanted:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                # As gunicorn does, so a port left in TIME_WAIT by the last run counts as free.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", wanted))
                except OSError:
                    return free_port()
            return wanted
        return free_port()

    def add_nodes(self) -> None:
        for code in self.codes:
            data_dir = self.base_dir / code.lower()
            if self.fresh and data_dir.exists():
                embedded.stop(data_dir)
                shutil.rmtree(data_dir)
            data_dir.mkdir(parents=True, exist_ok=True)
            if self.redis_url:
                broker, prefix, own = self.redis_url, f"odr:{self.run_id}:{code.lower()}:", False
            else:
                broker, prefix, own = embedded.broker_url(data_dir), f"odr:{code.lower()}:", True
            self.nodes[code] = Node(
                code=code,
                data_dir=data_dir,
                port=self._port_for(code),
                database_url=self._database_for(code, data_dir),
                broker_url=broker,
                key_prefix=prefix,
                env_name=self.env_name,
                extra_env=dict(self.extra_env),
                embedded_broker=own,
                health_path="/.well-known/jwks.json" if self.relay else "/admin/login/",
            )

    def _in_parallel(self, work: Callable[[Node], None]) -> None:
        errors: list[BaseException] = []

        def run(node: Node):
            try:
                work(node)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=run, args=(node,)) for node in self.nodes.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def prepare(self) -> None:
        """Data dirs, ports, databases, migrations, seed data, keys, and pinned partner keys."""
        if not self.nodes:
            self.add_nodes()
        inboxes = [f"--inbox={node.code}={node.inbox_url}" for node in self.nodes.values()]

        def setup(node: Node):
            node.start_broker()
            node.manage("migrate", "--no-input", "-v", "0")
            node.manage("seed_agencies", *inboxes)
            if self.relay:
                node.manage("node_keys", "init")

        self._in_parallel(setup)
        if self.relay:
            self.exchange_keys()

    def exchange_keys(self) -> None:
        exported = {code: node.manage("node_keys", "export") for code, node in self.nodes.items()}
        for code, jwks in exported.items():
            path = self.base_dir / f"{code.lower()}.jwks.json"
            path.write_text(jwks)

        def pin(node: Node):
            for code in exported:
                if code != node.code:
                    node.manage(
                        "pin_partner_keys",
                        code,
                        "--file",
                        str(self.base_dir / f"{code.lower()}.jwks.json"),
                    )

        self._in_parallel(pin)

    # --- running ---------------------------------------------------------------------------

    def start(self, timeout: float = 120) -> None:
        for node in self.nodes.values():
            node.start_broker()
            node.start_web()
            node.start_worker()
            node.start_beat()
        for node in self.nodes.values():
            node.wait_web(timeout)
            node.wait_worker(timeout)
            node.wait_beat(timeout)

    def teardown(self) -> None:
        """Stop every process of every node, the embedded brokers, and drop the databases."""
        commands = [node._commands for node in self.nodes.values() if node._commands is not None]
        for command in commands:
            with contextlib.suppress(OSError, ValueError):
                command.popen.stdin.close()  # each exits at the end of its input
        stop_processes(p for node in self.nodes.values() for p in node.processes.values())
        for node in self.nodes.values():
            if node._commands is not None:
                node._commands.close()
                node._commands = None
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                node.stop_broker()
        if self.redis_url:
            self._forget_shared_redis_keys()
        self._drop_databases()

    def _forget_shared_redis_keys(self) -> None:
        """Delete only this run's keys from a shared Redis (never FLUSHALL a shared server)."""
        import redis

        with contextlib.suppress(redis.RedisError):
            client = redis.Redis.from_url(self.redis_url)
            for node in self.nodes.values():
                for key in client.scan_iter(match=f"{node.key_prefix}*", count=500):
                    client.delete(key)
            # Celery's fanout (pidbox) keys are prefixed too; nothing else of ours is left.


# --- helpers shared by the demo, the multi-node tests and the benchmark ---------------------------

SAMPLE_DISPUTE = {
    "consumer_name": "Dewi Lestari",
    "consumer_email": "dewi@example.id",
    "consumer_phone": "+62 812 0000 1111",
    "consumer_country": "ID",
    "consumer_language": "id",
    "merchant_name": "Seoul Gadget Store",
    "merchant_website": "https://seoulgadget.example.kr",
    "merchant_country": "KR",
    "purchase_date": "2026-10-01",
    "order_number": "SGS-2026-88812",
    "amount": "1250000",
    "currency": "IDR",
    "payment_method": "card",
    "platform": "Seoul Gadget web shop",
    "category": "electronics",
    "problem_types": ["non_delivery"],
    "desired_remedy": "refund",
    "consumer_account": (
        "Saya membayar headphone nirkabel Rp1.250.000 pada 1 Oktober 2026, tetapi barang tidak "
        "pernah dikirim dan penjual tidak menjawab email saya."
    ),
    "filing_language": "id",
    "intake_channel": "web",
}


def file_and_forward(home: Node, caseworker: str, **overrides) -> str:
    """File the sample dispute at ``home``, review it and forward it; return its reference."""
    reference = home.dispute("file", input=json.dumps({**SAMPLE_DISPUTE, **overrides}))
    home.dispute("act", reference, "start_review", "--as", caseworker)
    home.dispute("act", reference, "forward", "--as", caseworker)
    return reference


def outbound(log: list[dict]) -> list[dict]:
    """Packets this node sent; ``agency`` is the recipient."""
    return [row for row in log if row.get("direction") == "out"]


def inbound(log: list[dict]) -> list[dict]:
    """Packets this node received; ``agency`` is the sender."""
    return [row for row in log if row.get("direction") == "in"]


def delivery_problems(sender: Node, receiver: Node, reference: str | None = None) -> list[str]:
    """Why the packets from sender to receiver are not (yet) each applied exactly once.

    Empty when every outbound packet of the sender to the receiver's agency is acknowledged, the
    receiver has each of them applied, and neither side has a packet twice.
    """
    sent = [
        row
        for row in outbound(sender.relay_log())
        if row.get("agency") == receiver.code
        and (reference is None or row.get("dispute") == reference)
    ]
    received = [
        row
        for row in inbound(receiver.relay_log())
        if row.get("agency") == sender.code
        and (reference is None or row.get("dispute") == reference)
    ]
    problems = []
    sent_pids = [row["pid"] for row in sent]
    # Refusals before a packet could be placed (e.g. out of order) are not arrivals: the sender
    # tries again. Only placed packets count.
    received = [row for row in received if "authenticated" not in row]
    received_pids = [row["pid"] for row in received]
    if len(set(sent_pids)) != len(sent_pids):
        problems.append(f"{sender.code} has duplicate outbound pids")
    if len(set(received_pids)) != len(received_pids):
        problems.append(f"{receiver.code} has duplicate inbound pids")
    for row in sent:
        if row.get("state") != "acknowledged":
            problems.append(f"{row['pid']} {row.get('type')} is {row.get('state')} at sender")
    applied = {row["pid"] for row in received if row.get("state") == "applied"}
    for pid in sent_pids:
        if pid not in applied:
            problems.append(f"{pid} not applied at {receiver.code}")
    for pid in set(received_pids) - set(sent_pids):
        problems.append(f"{pid} arrived at {receiver.code} but was never sent")
    seqs = [row.get("seq") for row in received if row.get("seq") is not None]
    if len(set(seqs)) != len(seqs) and reference is not None:
        problems.append(f"{receiver.code} applied a sequence number twice")
    return problems


def wait_delivered(sender: Node, receiver: Node, reference: str | None = None, timeout=90.0):
    """Wait until every packet from sender to receiver is applied exactly once."""
    last: list[str] = []

    def done():
        nonlocal last
        last = delivery_problems(sender, receiver, reference)
        return not last

    try:
        wait_for(done, timeout=timeout, interval=0.5, what="delivery")
    except ClusterError as error:
        raise ClusterError(f"{error}: {'; '.join(last[:10])}") from None


def wait_status(node: Node, reference: str, status: str, timeout: float = 90.0) -> dict:
    """Wait until the node has the dispute in ``status``; return what it shows."""
    return wait_for(
        lambda: (shown := node.show(reference)) and shown["status"] == status and shown,
        timeout=timeout,
        interval=0.5,
        what=f"{reference} to be {status} at {node.code}",
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["commands"]:
        _serve_commands()
    else:
        sys.exit("usage: python -m odr.cluster commands  (used by LocalCluster)")
