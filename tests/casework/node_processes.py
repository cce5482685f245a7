"""A BPKN node of its own for the deadline reminder tests with real processes: a fresh
PostgreSQL database, the CI Redis under a key prefix of its own (an embedded Redis outside CI),
and an SMTP server in the test process that records what it accepts and can hang like a stuck
mail server."""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
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
    """A minimal SMTP server: it records each message it accepts. While ``stall`` is set it
    takes a message's text but never answers, as a mail server that hangs: every message, or
    with ``stall_only_to`` those to one of these addresses, after letting ``stall_after`` of them
    through. ``answer_after`` seconds pass before it accepts each message, as a slow server."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SmtpHandler)
        self.accepted: list[str] = []
        self.stall = threading.Event()
        self.stalled = threading.Event()
        self.stall_only_to: set[str] = set()
        self.stall_after = 0
        self.answer_after = 0.0
        self.lock = threading.Lock()

    def stalls(self, recipients: list[str]) -> bool:
        with self.lock:
            if not self.stall.is_set():
                return False
            if self.stall_only_to and not self.stall_only_to.intersection(recipients):
                return False
            if self.stall_after > 0:
                self.stall_after -= 1
                return False
            return True

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
        recipients: list[str] = []
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 sink")
            elif command.startswith("MAIL FROM"):
                recipients = []
                self.reply("250 ok")
            elif command.startswith("RCPT TO"):
                recipients.append(command.partition(":")[2].strip(" <>").lower())
                self.reply("250 ok")
            elif command.startswith("DATA"):
                self.reply("354 go on")
                body = []
                while (text := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(text.decode(errors="replace"))
                if self.server.stalls(recipients):
                    self.server.stalled.set()
                    while self.server.stall.is_set():
                        time.sleep(0.05)
                    return  # the connection's client is gone by now
                time.sleep(self.server.answer_after)
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


def log_count(process: Process, pattern: str) -> int:
    """How many times the regular expression ``pattern`` matches the process's log (a process
    started again under the same name writes on in the same file)."""
    return len(re.findall(pattern, process.log_path.read_text("utf-8", errors="replace")))
