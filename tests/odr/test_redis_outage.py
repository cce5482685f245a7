"""A node whose Redis stops keeps serving: filings on the portal, through the API and by a
caseworker are stored and answered as usual, its relay inbox applies what a partner sends, and
once Redis is back the sweeps send every packet and email that waited, each once.

Two real nodes (gunicorn, Celery worker and beat each), BPKN's Redis a private one of its own
that the test stops and starts (never the machine's shared Redis); everything goes over HTTP as
a browser, a marketplace or the partner node would send it.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import threading
import uuid

import httpx
import pytest

from odr.cluster import (
    SAMPLE_DISPUTE,
    LocalCluster,
    delivery_problems,
    file_and_forward,
    outbound,
    wait_delivered,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.multinode

PASSWORD = "a-long-test-password-1"
API_RATE = 30  # per minute and client; while Redis is down, per web process


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """BPKN and KCA, each with its own embedded Redis (also in CI: stopping the shared one would
    stop every other node and test), PostgreSQL databases in CI."""
    options = {}
    if os.environ.get("ODR_TEST_POSTGRES_URL"):
        options["postgres_url"] = os.environ["ODR_TEST_POSTGRES_URL"]
    with LocalCluster(
        tmp_path_factory.mktemp("outage"),
        ("ID-BPKN", "KR-KCA"),
        extra_env={
            "ODR_RELAY_SWEEP_SECONDS": "1",
            "ODR_RELAY_BACKOFF_BASE_SECONDS": "1",
            "ODR_RELAY_BACKOFF_MAX_SECONDS": "3",
            "ODR_API_RATE": f"{API_RATE}/min",
            "ODR_EMAIL_BATCH_SECONDS": "0",
            "ODR_CACHE_RETRY_SECONDS": "1",
        },
        **options,
    ) as cluster:
        cluster["ID-BPKN"].dispute("caseworker", "budi", "--password", PASSWORD)
        cluster["KR-KCA"].dispute("caseworker", "minji", "--password", PASSWORD)
        yield cluster


def redis_reachable(node) -> bool:
    import redis

    try:
        return bool(node.redis().ping())
    except redis.RedisError:
        return False


def api_key(node, name: str) -> str:
    scopes = ["disputes:create", "disputes:read", "evidence:create"]
    return node.manage("api_client", "create", name, *[f"--scope={s}" for s in scopes]).strip()


def query(node, code: str):
    """The result of a Python expression in the node's Django shell, as JSON."""
    return json.loads(
        node.shell(f"import json\nprint(json.dumps({code}))").strip().splitlines()[-1]
    )


class Visitor:
    """A browser without JavaScript: cookies, and the CSRF token sent back with each form."""

    def __init__(self, node):
        self.node = node
        self.http = httpx.Client(base_url=node.url, timeout=30)
        self.csrf_cookie = f"odr_csrf_{node.code.lower().replace('-', '_')}"

    def get(self, path: str) -> httpx.Response:
        response = self.http.get(path)
        assert response.status_code < 500, (path, response.status_code, response.text[:2000])
        return response

    def post(self, path: str, data: dict) -> httpx.Response:
        if self.csrf_cookie not in self.http.cookies:
            self.get(path)
        response = self.http.post(
            path, data=data, headers={"X-CSRFToken": self.http.cookies[self.csrf_cookie]}
        )
        assert response.status_code < 500, (path, response.status_code, response.text[:2000])
        return response


def codes(node) -> dict[str, int]:
    """Primary keys of the reference rows the HTML forms name by id."""
    return query(
        node,
        "{'ID': __import__('agencies.models').models.Country.objects.get(code='ID').pk,"
        " 'KR': __import__('agencies.models').models.Country.objects.get(code='KR').pk,"
        " 'electronics': __import__('agencies.models').models.Category.objects.get("
        "code='electronics').pk,"
        " 'non_delivery': __import__('disputes.models').models.ProblemType.objects.get("
        "code='non_delivery').pk,"
        " 'refund': __import__('disputes.models').models.Remedy.objects.get(code='refund').pk}",
    )


def file_on_the_portal(node, pk: dict[str, int], consumer: str) -> str:
    visitor = Visitor(node)
    steps = {
        "you": {
            "consumer_name": consumer,
            "consumer_email": "dewi@example.id",
            "consumer_phone": "+62 812 0000 1111",
            "consumer_country": "ID",
            "consumer_language": "id",
        },
        "merchant": {
            "merchant_name": "Seoul Gadget Store",
            "merchant_website": "https://seoulgadget.example.kr",
            "merchant_country": "KR",
        },
        "purchase": {
            "category": pk["electronics"],
            "purchase_date": "2026-10-01",
            "amount": "1250000",
            "currency": "IDR",
            "payment_method": "card",
        },
        "problem": {
            "problem_types": [pk["non_delivery"]],
            "desired_remedy": pk["refund"],
            "consumer_account": "Saya membayar headphone tetapi barang tidak pernah dikirim.",
        },
    }
    visitor.get("/file/")
    for step, data in steps.items():
        response = visitor.post(f"/file/{step}/", {**data, "action": "next"})
        assert response.status_code == 302, (step, response.text[:3000])
    assert visitor.post("/file/evidence/", {"action": "continue"}).status_code == 302
    sent = visitor.post("/file/review/", {"action": "submit", "confirm": "on"})
    assert sent.status_code == 302 and sent.headers["location"].endswith("/file/submitted/")
    done = visitor.get("/file/submitted/").text
    return re.search(r"BPKN-\d{4}-\d{6}", done).group(0)


def file_and_forward_as_caseworker(node, pk: dict[str, int]) -> str:
    visitor = Visitor(node)
    signed_in = visitor.post("/casework/login/", {"username": "budi", "password": PASSWORD})
    assert signed_in.status_code == 302
    filed = visitor.post(
        "/casework/file/",
        {
            "intake_channel": "whatsapp",
            "consumer_name": "Rina Wati",
            "consumer_email": "rina@example.id",
            "consumer_country": pk["ID"],
            "consumer_language": "id",
            "merchant_name": "Incheon Fashion",
            "merchant_country": pk["KR"],
            "purchase_date": "2026-10-12",
            "amount": "750000",
            "currency": "IDR",
            "payment_method": "e_wallet",
            "category": pk["electronics"],
            "problem_types": [pk["non_delivery"]],
            "desired_remedy": pk["refund"],
            "consumer_account": "Jaket tidak pernah dikirim.",
            "filing_language": "id",
        },
    )
    assert filed.status_code == 302, filed.text[:3000]
    reference = filed.headers["location"].rstrip("/").rsplit("/", 1)[-1]
    for action in ("start_review", "forward"):
        acted = visitor.post(f"/casework/disputes/{reference}/act/{action}/", {})
        assert acted.status_code == 302, (action, acted.text[:3000])
    return reference


def file_through_the_api(http: httpx.Client, consumer: str, key: str | None = None):
    body = {**SAMPLE_DISPUTE, "consumer_name": consumer}
    body.pop("intake_channel")
    return http.post(
        "/api/v1/disputes/", json=body, headers={"Idempotency-Key": key or str(uuid.uuid4())}
    )


@contextlib.contextmanager
def redis_down(node):
    """The node's Redis stopped for the block, started again after it."""
    node.stop_broker()
    assert not redis_reachable(node)
    try:
        yield
    finally:
        node.start_broker()
    assert redis_reachable(node)


def unsent_emails(node, references: list[str]) -> set[str]:
    return set(
        query(
            node,
            "list(__import__('portal.models').models.Notification.objects.filter("
            f"sent_at__isnull=True, dispute__reference__in={references!r}).values_list("
            "'dispute__reference', flat=True))",
        )
    )


def wait_filed_once_with_one_receipt(node, references: list[str]) -> None:
    """Each dispute is there once, and its filing receipt went out, in one attempt."""
    wait_for(
        lambda: not unsent_emails(node, references),
        timeout=180,
        interval=1,
        what="the emails that waited to be sent",
    )
    found = query(
        node,
        "{'disputes': list(__import__('disputes.models').models.Dispute.objects.filter("
        f"reference__in={references!r}).values_list('reference', flat=True)),"
        " 'receipts': list(__import__('portal.models').models.Notification.objects.filter("
        f"dispute__reference__in={references!r}, kind='filing_receipt').values_list("
        "'dispute__reference', 'attempts'))}",
    )
    assert len(set(references)) == len(references)
    assert sorted(found["disputes"]) == sorted(references)
    assert sorted(reference for reference, _attempts in found["receipts"]) == sorted(references)
    assert all(attempts == 1 for _reference, attempts in found["receipts"])


@pytest.fixture(scope="module")
def marketplace(cluster):
    bpkn = cluster["ID-BPKN"]
    key = api_key(bpkn, "Marketplace")
    return httpx.Client(base_url=bpkn.url, timeout=30, headers={"Authorization": f"Api-Key {key}"})


def test_the_api_files_while_redis_is_down_and_the_receipt_goes_once_it_is_back(
    cluster, marketplace
):
    bpkn = cluster["ID-BPKN"]
    busy = httpx.Client(
        base_url=bpkn.url, timeout=30, headers={"X-API-Key": api_key(bpkn, "Busy portal")}
    )
    with redis_down(bpkn):
        first = file_through_the_api(marketplace, "Ayu Lestari", key="outage-filing-1")
        assert first.status_code == 201, first.text
        # A retry gets the same answer and files nothing twice (the database remembers).
        again = file_through_the_api(marketplace, "Ayu Lestari", key="outage-filing-1")
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        reference = first.json()["reference"]
        assert again.json()["reference"] == reference
        assert marketplace.get(f"/api/v1/disputes/{reference}/").status_code == 200
        # The rate limit still holds, each web process (two) counting on its own: never a 500.
        burst = [busy.get("/api/v1/reference-data/") for _ in range(2 * API_RATE + 1)]
        assert {response.status_code for response in burst} <= {200, 429}
        refused = [response for response in burst if response.status_code == 429]
        assert refused, "more than the limit of every process together passed"
        assert int(refused[0].headers["Retry-After"]) >= 1
        assert refused[0].json()["error"]["code"] == "throttled"
        assert unsent_emails(bpkn, [reference]) == {reference}

    wait_filed_once_with_one_receipt(bpkn, [reference])


def test_the_portal_files_while_redis_is_down_and_the_receipt_goes_once_it_is_back(cluster):
    bpkn = cluster["ID-BPKN"]
    pk = codes(bpkn)
    with redis_down(bpkn):
        reference = file_on_the_portal(bpkn, pk, "Dewi Lestari")
        assert unsent_emails(bpkn, [reference]) == {reference}

    wait_filed_once_with_one_receipt(bpkn, [reference])


def test_a_caseworker_files_and_forwards_while_redis_is_down_and_the_packet_goes_once(cluster):
    bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]
    pk = codes(bpkn)
    with redis_down(bpkn):
        reference = file_and_forward_as_caseworker(bpkn, pk)
        assert bpkn.show(reference)["status"] == "forwarded"
        # The forward waits in the outbox for the sweep.
        waiting = [row for row in outbound(bpkn.relay_log()) if row.get("dispute") == reference]
        assert waiting and all(row["state"] != "acknowledged" for row in waiting)

    wait_delivered(bpkn, kca, reference, timeout=180)
    wait_status(kca, reference, "forwarded")
    wait_filed_once_with_one_receipt(bpkn, [reference])


def test_the_relay_inbox_applies_a_partners_packet_while_redis_is_down(cluster):
    bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]
    reference = file_and_forward(bpkn, "budi")
    wait_status(kca, reference, "forwarded")

    with redis_down(bpkn):
        kca.dispute("act", reference, "accept_forwarded", "--as", "minji")
        wait_delivered(kca, bpkn, reference)
        assert bpkn.show(reference)["status"] == kca.show(reference)["status"] != "forwarded"

    # Once Redis is back, still each packet once on either side, and the consumer's email sent.
    wait_delivered(bpkn, kca, reference)
    assert delivery_problems(kca, bpkn, reference) == []
    wait_for(
        lambda: not unsent_emails(bpkn, [reference]),
        timeout=180,
        interval=1,
        what="the emails that waited to be sent",
    )


def test_filings_go_on_while_redis_stops_and_starts_again(cluster):
    bpkn = cluster["ID-BPKN"]
    client = httpx.Client(
        base_url=bpkn.url, timeout=30, headers={"X-API-Key": api_key(bpkn, "Steady portal")}
    )
    # A marketplace filing one dispute after another; Redis stops and starts while requests
    # are on their way (the test asks for filings, then stops or starts Redis at once).
    asked: queue.Queue[int | None] = queue.Queue()
    answers: list[httpx.Response] = []

    def keep_filing():
        while (number := asked.get()) is not None:
            answers.append(file_through_the_api(client, f"Consumer {number}"))

    def file(count: int) -> None:
        for _ in range(count):
            asked.put(len(answers) + asked.qsize() + 1)

    filer = threading.Thread(target=keep_filing)
    filer.start()
    try:
        file(3)
        bpkn.stop_broker()
        file(3)
        wait_for(lambda: len(answers) >= 5, timeout=60, what="filings while Redis stops")
        assert not redis_reachable(bpkn)
        file(3)
        bpkn.start_broker()
        file(3)
        wait_for(lambda: len(answers) == 12, timeout=60, what="filings while Redis starts")
    finally:
        asked.put(None)
        filer.join(timeout=120)
        bpkn.start_broker()

    assert [response.status_code for response in answers] == [201] * 12, [
        response.text[:300] for response in answers if response.status_code != 201
    ]
    wait_filed_once_with_one_receipt(bpkn, [response.json()["reference"] for response in answers])
