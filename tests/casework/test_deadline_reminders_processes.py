"""Each deadline's escalation is emailed exactly once with real processes on PostgreSQL: a
worker killed while its mail server has not yet taken the message leaves nothing half-done, and
two beat-started sweeps that then run at the same time send each email once between them."""

from __future__ import annotations

import json
import os
import socketserver
import subprocess
import sys
import threading
import time
import uuid

import psycopg
import pytest
from django.conf import settings

DISPUTES = 12

SETUP = f"""
import datetime as dt, json
from django.contrib.auth.models import Group, User
from disputes.models import Dispute
from tests.factories import file_dispute
supervisor = User.objects.create_user("ratna", email="ratna@bpkn.example")
supervisor.groups.add(Group.objects.get(name="Supervisors"))
references = []
for number in range({DISPUTES}):
    dispute = file_dispute(merchant_name=f"Shop {{number}}")
    Dispute.objects.filter(pk=dispute.pk).update(review_due_on=dt.date(2020, 1, 6))
    references.append(dispute.reference)
print(json.dumps(references))
"""
SWEEP = "from casework.tasks import sweep_deadlines; print(sweep_deadlines())"
COUNT = """
import json
from casework.models import DeadlineNotice
notices = DeadlineNotice.objects
print(json.dumps([notices.count(), notices.filter(sent_at=None).count()]))
"""


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


@pytest.fixture
def node(postgres_url, tmp_path):
    name = f"odr_reminders_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    sink = MailSink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    kept = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "ODR_", "EMAIL_"))
    }
    env = kept | {
        "DATABASE_URL": postgres_url.rsplit("/", 1)[0] + f"/{name}",
        "ODR_ENV": "development",
        "ODR_DATA_DIR": str(tmp_path),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.server_address[1]),
    }

    def run(*arguments, **options):
        return subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            **options,
        )

    def start(code):
        return subprocess.Popen(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    run("migrate", "--no-input", "-v", "0")
    run("seed_agencies")
    yield {"run": run, "start": start, "sink": sink}
    sink.stall.clear()
    sink.shutdown()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_a_killed_worker_and_two_sweeps_at_once_send_each_escalation_once(node):
    references = json.loads(node["run"]("shell", "--no-imports", "-c", SETUP).stdout)
    sink = node["sink"]

    # A worker sweeps, then hangs on the first email of its batch; it is killed there.
    sink.stall.set()
    worker = node["start"](SWEEP)
    wait_for(sink.stalled.is_set)
    worker.kill()
    worker.wait()
    created, unsent = json.loads(node["run"]("shell", "--no-imports", "-c", COUNT).stdout)
    assert (created, unsent) == (DISPUTES, DISPUTES)  # the notices stay, none marked sent
    assert sink.accepted == []

    # Two sweeps (two beat processes' ticks) run at once on the next round.
    sink.stall.clear()
    sweeps = [node["start"](SWEEP), node["start"](SWEEP)]
    for sweep in sweeps:
        _out, err = sweep.communicate(timeout=120)
        assert sweep.returncode == 0, err
    assert json.loads(node["run"]("shell", "--no-imports", "-c", COUNT).stdout) == [DISPUTES, 0]
    subjects = [
        next(line for line in text.splitlines() if line.startswith("Subject:"))
        for text in sink.accepted
    ]
    assert len(subjects) == DISPUTES
    for reference in references:
        assert sum(reference in subject for subject in subjects) == 1, reference
