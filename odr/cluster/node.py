"""One agency's node: its settings, its database and broker, and its processes."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from odr import embedded

from .processes import (
    _SCRUBBED_ENV,
    BASE_DIR,
    ClusterError,
    CommandProcess,
    Process,
    _python_bin,
    stop_processes,
    wait_for,
)


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
        return embedded.redis_client(self.broker_url)

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
                # Without query strings: a merchant's link token comes as ?t= (docs/operations).
                "--access-logformat",
                '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)s',
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

    def start_beat(self, name: str = "beat") -> Process:
        """The node's beat; another ``name`` starts one more, with its own schedule file and
        pidfile, as an operator starting a second by mistake would (the beat lock keeps it
        standing by)."""
        stem = "celerybeat" if name == "beat" else name
        return self._spawn(
            name,
            [
                _python_bin(),
                "-m",
                "celery",
                "-A",
                "odr",
                "beat",
                "--schedule",
                str(self.data_dir / f"{stem}-schedule"),
                "--pidfile",
                str(self.data_dir / f"{stem}.pid"),
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
