"""Two real nodes, BPKN and KCA alone: a case sent back, forwarded again, then withdrawn.

Like test_multinode, each node is its own processes with its own database and broker (PostgreSQL
and the shared Redis under unique prefixes in CI; SQLite and embedded Redis locally).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import psutil
import psycopg
import pytest

from odr.cluster import LocalCluster, file_and_forward, wait_delivered, wait_status
from tests.relay.test_multinode import cluster_options, status_changes

pytestmark = pytest.mark.multinode


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    with LocalCluster(
        tmp_path_factory.mktemp("pair"),
        ("ID-BPKN", "KR-KCA"),
        extra_env={
            "ODR_RELAY_SWEEP_SECONDS": "1",
            "ODR_RELAY_BACKOFF_BASE_SECONDS": "1",
            "ODR_RELAY_BACKOFF_MAX_SECONDS": "3",
            # No session reaches its age during this module: a kept session stays the same one.
            "DATABASE_CONN_MAX_AGE": "600",
        },
        **cluster_options(),
    ) as cluster:
        cluster["ID-BPKN"].dispute("caseworker", "budi", "--password", "a-long-test-password-1")
        cluster["KR-KCA"].dispute("caseworker", "minji", "--password", "a-long-test-password-1")
        yield cluster


def test_returned_reforwarded_and_withdrawn_case_stays_the_same_on_both_nodes(pair):
    bpkn, kca = pair["ID-BPKN"], pair["KR-KCA"]
    reference = file_and_forward(bpkn, "budi")
    wait_status(kca, reference, "forwarded")

    reason = "Please add the order confirmation; the merchant cannot find the order."
    kca.dispute(
        "act", reference, "return_to_home", "--as", "minji", "--language", "en", "--text", reason
    )
    returned = wait_status(bpkn, reference, "under_review")
    assert returned["timeline"][-1]["text"] == reason

    bpkn.dispute("act", reference, "forward", "--as", "budi")
    wait_status(kca, reference, "forwarded")
    kca.dispute("act", reference, "accept_forwarded", "--as", "minji")
    wait_status(bpkn, reference, "accepted_by_partner")

    bpkn.dispute(
        "act",
        reference,
        "withdraw",
        "--consumer",
        "--language",
        "id",
        "--text",
        "Penjual sudah mengembalikan uang saya.",
    )
    wait_status(kca, reference, "withdrawn")

    wait_delivered(bpkn, kca, reference)
    wait_delivered(kca, bpkn, reference)
    at_bpkn, at_kca = bpkn.show(reference), kca.show(reference)
    assert (
        status_changes(at_bpkn)
        == status_changes(at_kca)
        == [
            ("under_review", "forwarded"),
            ("forwarded", "under_review"),
            ("under_review", "forwarded"),
            ("forwarded", "accepted_by_partner"),
            ("accepted_by_partner", "withdrawn"),
        ]
    )


def worker_database_sessions(node) -> set[int]:
    """The local ports of the node's worker processes' open connections to PostgreSQL."""
    port = urlsplit(os.environ["ODR_TEST_POSTGRES_URL"]).port or 5432
    main = psutil.Process(node.processes["worker"].pid)
    return {
        connection.laddr.port
        for process in (main, *main.children(recursive=True))
        for connection in process.net_connections(kind="tcp")
        if connection.raddr
        and connection.raddr.port == port
        and connection.status == psutil.CONN_ESTABLISHED
    }


@pytest.mark.skipif(
    not os.environ.get("ODR_TEST_POSTGRES_URL"), reason="SQLite nodes keep no database session"
)
def test_a_worker_keeps_its_database_session_from_task_to_task(pair):
    bpkn, kca = pair["ID-BPKN"], pair["KR-KCA"]
    wait_delivered(bpkn, kca, file_and_forward(bpkn, "budi"))
    # Celery's own default closes it after every task, and the next task opens a new one
    # (a process fork and a login on the database server, for every delivery and sweep).
    between_tasks = worker_database_sessions(bpkn)
    assert between_tasks, "the worker closed its database session after its task"

    wait_delivered(bpkn, kca, file_and_forward(bpkn, "budi"))
    assert between_tasks & worker_database_sessions(bpkn)


@pytest.mark.skipif(
    not os.environ.get("ODR_TEST_POSTGRES_URL"), reason="SQLite nodes keep no database session"
)
def test_a_worker_whose_database_session_was_ended_goes_on_without_an_error(pair):
    bpkn, kca = pair["ID-BPKN"], pair["KR-KCA"]
    wait_delivered(bpkn, kca, file_and_forward(bpkn, "budi"))
    kept = worker_database_sessions(bpkn)
    assert kept
    log = bpkn.processes["worker"].log_path
    seen = log.stat().st_size
    # As a database failover, a restart or an idle-session timeout would end them.
    with psycopg.connect(os.environ["ODR_TEST_POSTGRES_URL"], autocommit=True) as database:
        ended = database.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_port = ANY(%s)",
            (list(kept),),
        ).fetchall()
    assert ended and all(row[0] for row in ended)

    wait_delivered(bpkn, kca, file_and_forward(bpkn, "budi"))
    with log.open("rb") as lines:
        lines.seek(seen)
        since = lines.read().decode(errors="replace")
    assert "Traceback" not in since and "OperationalError" not in since, since[-3000:]
