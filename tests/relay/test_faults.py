"""The relay under faults: every packet still applied exactly once, nothing lost.

Two real nodes (BPKN, KCA) as separate processes, each with its own private, embedded Redis (so
a test may flush or restart it without touching anyone else's), and PostgreSQL databases in CI.
Faults are real: a node's web process stopped, a worker killed with SIGKILL mid-delivery, the
broker flushed and restarted, and a small fault-injecting HTTP proxy of our own between the nodes
that answers 500, holds requests past the sender's timeout, or holds them until released.
"""

from __future__ import annotations

import http.server
import os
import threading
from collections import Counter

import httpx
import pytest

from odr import embedded
from odr.cluster import (
    LocalCluster,
    file_and_forward,
    inbound,
    outbound,
    wait_delivered,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.multinode

SENDER_TIMEOUT_SECONDS = 2


class FaultProxy:
    """An HTTP proxy in front of a node's inbox that misbehaves on request.

    ``script`` is the list of behaviours for the next requests, one each; after it runs out the
    proxy passes requests through. Behaviours: ``error`` answers 500 without forwarding; ``late``
    forwards only after the sender has given up waiting (so the receiver applies a packet whose
    receipt the sender never sees); ``hold`` keeps the request until ``release()``, then forwards.
    """

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.script: list[str] = []
        self.seen: list[str] = []
        self.held = threading.Event()
        self.released = threading.Event()
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with proxy.lock:
                    behaviour = proxy.script.pop(0) if proxy.script else "pass"
                    proxy.seen.append(behaviour)
                if behaviour == "error":
                    return self._answer(500, b'{"error": "injected"}')
                if behaviour == "late":
                    # The injected fault itself: answer only after the sender's timeout.
                    threading.Event().wait(SENDER_TIMEOUT_SECONDS + 1)
                if behaviour == "hold":
                    proxy.held.set()
                    proxy.released.wait(120)
                response = httpx.post(
                    proxy.upstream,
                    content=body,
                    headers={"Content-Type": self.headers.get("Content-Type", "")},
                    timeout=30,
                )
                self._answer(response.status_code, response.content)

            def _answer(self, status: int, content: bytes):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except OSError:
                    pass  # the sender gave up (timeout, or its worker was killed)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/relay/inbox/"

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    options = {}
    if os.environ.get("ODR_TEST_POSTGRES_URL"):
        options["postgres_url"] = os.environ["ODR_TEST_POSTGRES_URL"]
    # No redis_url: each node gets a private embedded Redis that these tests may flush.
    with LocalCluster(
        tmp_path_factory.mktemp("faults"),
        ("ID-BPKN", "KR-KCA"),
        extra_env={
            "ODR_RELAY_SWEEP_SECONDS": "1",
            "ODR_RELAY_BACKOFF_BASE_SECONDS": "1",
            "ODR_RELAY_BACKOFF_MAX_SECONDS": "2",
            "ODR_RELAY_TIMEOUT_SECONDS": str(SENDER_TIMEOUT_SECONDS),
            "CELERY_VISIBILITY_TIMEOUT": "10",
        },
        **options,
    ) as cluster:
        cluster["ID-BPKN"].dispute("caseworker", "budi", "--password", "a-long-test-password-1")
        cluster["KR-KCA"].dispute("caseworker", "minji", "--password", "a-long-test-password-1")
        yield cluster


@pytest.fixture
def proxy(cluster):
    """A fault proxy that BPKN uses to reach KCA's inbox, for the length of one test."""
    bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]
    proxy = FaultProxy(kca.inbox_url)
    bpkn.set_inbox_url("KR-KCA", proxy.url)
    yield proxy
    bpkn.set_inbox_url("KR-KCA", kca.inbox_url)
    proxy.close()


def packets_of(node, reference: str, direction) -> list[dict]:
    return [row for row in direction(node.relay_log()) if row.get("dispute") == reference]


def test_receiver_down_for_a_while_then_back(cluster):
    bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]
    kca.stop("web")
    try:
        reference = file_and_forward(bpkn, "budi")
        # BPKN keeps trying while KCA is down.
        wait_for(
            lambda: any(
                row["attempts"] >= 2 and row["state"] != "acknowledged"
                for row in packets_of(bpkn, reference, outbound)
            ),
            timeout=60,
            interval=0.5,
            what="BPKN to retry the unreachable KCA",
        )
        assert kca.show(reference) is None
    finally:
        kca.start_web()
        kca.wait_web()
    wait_status(kca, reference, "forwarded")
    wait_delivered(bpkn, kca, reference)


def test_receiver_answering_500_and_timing_out(cluster, proxy):
    bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]
    proxy.script = ["error", "error", "late"]

    reference = file_and_forward(bpkn, "budi")

    wait_status(kca, reference, "forwarded")
    wait_delivered(bpkn, kca, reference)
    behaviours = Counter(proxy.seen)
    assert behaviours["error"] == 2
    assert behaviours["late"] == 1
    # The late request reached KCA, yet the sender retried: the retry must not apply it again.
    assert behaviours["pass"] >= 1
    [forward] = packets_of(bpkn, reference, outbound)
    assert forward["attempts"] >= 4
    assert len(packets_of(kca, reference, inbound)) == 1


def test_worker_killed_mid_delivery_then_a_new_worker(cluster, proxy):
    bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]
    proxy.script = ["hold"]

    reference = file_and_forward(bpkn, "budi")
    assert proxy.held.wait(60), "the delivery never reached the proxy"
    bpkn.kill("worker")  # kill -9 of the worker and its pool while it awaits the receipt
    assert not bpkn.processes["worker"].alive()
    proxy.release()  # the packet reaches KCA; nobody is left at BPKN to read the receipt

    wait_status(kca, reference, "forwarded")
    assert packets_of(bpkn, reference, outbound)[0]["state"] != "acknowledged"
    bpkn.start_worker()
    bpkn.wait_worker()
    wait_delivered(bpkn, kca, reference)
    assert len(packets_of(kca, reference, inbound)) == 1


def test_broker_flushed_and_restarted(cluster):
    bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]
    reference = file_and_forward(bpkn, "budi")
    wait_delivered(bpkn, kca, reference)

    # A message queued for delivery, then every key of BPKN's private Redis flushed.
    bpkn.stop("worker")
    flushed = bpkn.dispute(
        "message", reference, "--as", "budi", "--language", "en", "--text", "Before the flush"
    )
    bpkn.redis().flushall()
    bpkn.start_worker()
    bpkn.wait_worker()
    wait_delivered(bpkn, kca, reference)

    # A message queued, then BPKN's Redis restarted empty (it keeps nothing on disk).
    bpkn.stop("worker")
    restarted = bpkn.dispute(
        "message", reference, "--as", "budi", "--language", "en", "--text", "Before the restart"
    )
    embedded.stop(bpkn.data_dir)
    embedded.start(bpkn.data_dir)
    bpkn.start_worker()
    bpkn.wait_worker()
    wait_delivered(bpkn, kca, reference)

    at_kca = {message["uid"]: message["body"] for message in kca.show(reference)["messages"]}
    assert at_kca[flushed] == "Before the flush"
    assert at_kca[restarted] == "Before the restart"


ROLLED_BACK = """
from django.contrib.auth import get_user_model
from django.db import transaction
from disputes import services
from disputes.models import Dispute

class Abandoned(Exception):
    pass

actor = services.Actor.caseworker(get_user_model().objects.get(username="budi"))
try:
    with transaction.atomic():
        services.post_message(
            Dispute.objects.get(reference=REFERENCE), actor=actor, body="ROLLED BACK", language="en"
        )
        raise Abandoned
except Abandoned:
    print("rolled back")
"""


def test_a_rolled_back_change_never_leaves_the_sender(cluster):
    bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]
    reference = file_and_forward(bpkn, "budi")
    wait_delivered(bpkn, kca, reference)
    sent_before = len(packets_of(bpkn, reference, outbound))

    out = bpkn.shell(ROLLED_BACK.replace("REFERENCE", repr(reference)))
    assert "rolled back" in out
    assert len(packets_of(bpkn, reference, outbound)) == sent_before

    # A later change is relayed; the abandoned one, had it left, would have arrived before it.
    later = bpkn.dispute(
        "message", reference, "--as", "budi", "--language", "en", "--text", "After the rollback"
    )
    wait_delivered(bpkn, kca, reference)
    assert len(packets_of(bpkn, reference, outbound)) == sent_before + 1
    for node in (bpkn, kca):
        bodies = [message["body"] for message in node.show(reference)["messages"]]
        assert "ROLLED BACK" not in bodies
    assert [m["uid"] for m in kca.show(reference)["messages"]] == [later]
