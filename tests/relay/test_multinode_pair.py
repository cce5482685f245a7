"""Two real nodes, BPKN and KCA alone: a case sent back, forwarded again, then withdrawn.

Like test_multinode, each node is its own processes with its own database and broker; here the
databases are always on PostgreSQL, whose sessions the last tests watch and end (the shared Redis
under unique prefixes in CI, embedded Redis locally).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import psycopg
import pytest

from odr.cluster import LocalCluster, file_and_forward, wait_delivered, wait_for, wait_status
from tests.relay.test_multinode import cluster_options, status_changes

pytestmark = pytest.mark.multinode


@pytest.fixture(scope="module")
def pair(tmp_path_factory, postgres_url):
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
        **cluster_options() | {"postgres_url": postgres_url},
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


def worker_database_handles(node) -> set:
    """The local ports of the node's worker processes' connections to PostgreSQL."""
    main = psutil.Process(node.processes["worker"].pid)
    processes = (main, *main.children(recursive=True))
    url = urlsplit(node.database_url)
    return {
        connection.laddr.port
        for process in processes
        for connection in process.net_connections(kind="tcp")
        if connection.raddr
        and connection.raddr.port == (url.port or 5432)
        and connection.status == psutil.CONN_ESTABLISHED
    }


TASK_LINE = re.compile(r"Task [\w.]+\[([0-9a-f-]+)\] (received|succeeded|raised|retry|failed)")


def worker_is_idle(log: Path) -> bool:
    """Every task the worker's log shows received has finished (Celery logs both at INFO)."""
    received, finished = set(), set()
    for task_id, what in TASK_LINE.findall(log.read_text(errors="replace")):
        (received if what == "received" else finished).add(task_id)
    return received <= finished


def forward_and_hold(bpkn, kca) -> set:
    """Forward a new case and wait until it is applied; what BPKN's worker then holds open."""
    wait_delivered(bpkn, kca, file_and_forward(bpkn, "budi"))
    return worker_database_handles(bpkn)


def test_a_worker_keeps_its_database_connection_from_task_to_task(pair):
    bpkn, kca = pair["ID-BPKN"], pair["KR-KCA"]
    # Celery's own default closes it after every task, and the next task opens a new one
    # (on PostgreSQL a server process fork and a login, for every delivery and sweep).
    between_tasks = forward_and_hold(bpkn, kca)
    assert between_tasks, "the worker closed its database connection after its task"
    assert between_tasks & forward_and_hold(bpkn, kca)


# A database server ends sessions: a failover, a restart, an idle timeout.
def test_a_worker_whose_database_session_was_ended_goes_on_without_an_error(pair, postgres_url):
    bpkn, kca = pair["ID-BPKN"], pair["KR-KCA"]
    forward_and_hold(bpkn, kca)
    log = bpkn.processes["worker"].log_path
    # Sessions are ended between tasks, as a failover would find an idle worker: a task that
    # is running then fails and its work is done again later, which is not what this proves.
    # So no sweeps meanwhile, and every task received so far (the consumer email waits for
    # its batch window) has finished.
    bpkn.stop("beat")
    try:
        wait_for(lambda: worker_is_idle(log), timeout=60, interval=0.2, what="an idle worker")
        kept = worker_database_handles(bpkn)
        assert kept
        seen = log.stat().st_size
        with psycopg.connect(postgres_url, autocommit=True) as database:
            ended = database.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE client_port = ANY(%s)",
                (list(kept),),
            ).fetchall()
        assert ended and all(row[0] for row in ended)

        wait_delivered(bpkn, kca, file_and_forward(bpkn, "budi"))
    finally:
        bpkn.start_beat()
        bpkn.wait_beat()
    with log.open("rb") as lines:
        lines.seek(seen)
        since = lines.read().decode(errors="replace")
    assert "Traceback" not in since and "OperationalError" not in since, since[-3000:]
