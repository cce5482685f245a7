"""A BPKN node of its own for the deadline reminder tests with real processes: a fresh
PostgreSQL database, the CI Redis under a key prefix of its own (an embedded Redis outside CI),
and an SMTP server in the test process that records what it accepts and can hang like a stuck
mail server."""

from __future__ import annotations

import contextlib
import email
import email.policy
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from odr.cluster import LocalCluster
from odr.cluster.node import Node
from odr.cluster.processes import Process


class MailSink(socketserver.ThreadingTCPServer):
    """A minimal SMTP server: it records each message it accepts; while ``stall`` is set it
    takes a message's text but never answers, as a mail server that hangs."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SmtpHandler)
        self.accepted: list[str] = []
        self.stall = threading.Event()
        self.stalled = threading.Event()
        self.lock = threading.Lock()

    def messages(self) -> list[email.message.EmailMessage]:
        with self.lock:
            texts = list(self.accepted)
        return [email.message_from_string(text, policy=email.policy.default) for text in texts]


class SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.reply("220 sink ESMTP")
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 sink")
            elif command.startswith("DATA"):
                self.reply("354 go on")
                body = []
                while (text := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(text.decode(errors="replace"))
                if self.server.stall.is_set():
                    self.server.stalled.set()
                    while self.server.stall.is_set():
                        time.sleep(0.05)
                    return  # the connection's client is gone by now
                with self.server.lock:
                    self.server.accepted.append("".join(body))
                self.reply("250 queued")
            elif command.startswith("QUIT"):
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@contextlib.contextmanager
def node_with_mail_sink(
    postgres_url: str, base_dir: Path, **extra_env: str
) -> Iterator[tuple[Node, MailSink]]:
    """A migrated, seeded BPKN node that sends its email to a MailSink; no process is running
    yet. Its database, Redis keys and processes are gone afterwards."""
    sink = MailSink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    shared_redis = settings.CELERY_BROKER_URL.startswith("redis://")
    cluster = LocalCluster(
        base_dir,
        ("ID-BPKN",),
        postgres_url=postgres_url,
        redis_url=settings.CELERY_BROKER_URL if shared_redis else None,
        relay=False,
        extra_env={
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(sink.server_address[1]),
            **extra_env,
        },
    )
    try:
        cluster.prepare()
        yield cluster["ID-BPKN"], sink
    finally:
        sink.stall.clear()  # a handler still stalled lets go of its connection
        cluster.teardown()
        sink.shutdown()
        sink.server_close()


def run_code(node: Node, code: str) -> subprocess.Popen:
    """``manage.py shell -c code`` in a process of its own, which a test may kill."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=settings.BASE_DIR,
        env=node.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_beat(node: Node, name: str) -> Process:
    """One more ``celery -A odr beat`` of the node, with its own schedule file and pidfile."""
    return node._spawn(
        name,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "odr",
            "beat",
            "--schedule",
            str(node.data_dir / f"{name}-schedule"),
            "--pidfile",
            str(node.data_dir / f"{name}.pid"),
            "--loglevel",
            "INFO",
        ],
    )


def log_count(process: Process, text: str) -> int:
    """How many times ``text`` is in the process's log (a restarted process's log goes on in
    the same file)."""
    return process.log_path.read_text("utf-8", errors="replace").count(text)
