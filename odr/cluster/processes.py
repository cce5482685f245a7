"""Processes of a local node: started in their own session, stopped with their whole group, and
a long-lived process that runs a node's management commands one after another."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .node import Node

BASE_DIR = Path(__file__).resolve().parent.parent.parent
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
    # The test process allows sync database calls under Playwright's event loop; a node never
    # needs that (and `check --deploy` refuses it).
    "DJANGO_ALLOW_ASYNC_UNSAFE",
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


def serve_commands() -> None:
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
