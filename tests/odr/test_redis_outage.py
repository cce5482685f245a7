"""A node whose Redis stops keeps serving: filings on the portal, through the API and by a
caseworker are stored and answered as usual, its relay inbox applies what a partner sends, and
once Redis is back the sweeps send every packet and email that waited, each once.

Two real nodes (gunicorn, Celery worker and beat each), BPKN's Redis a private one of its own
that the test stops and starts (never the machine's shared Redis); everything goes over HTTP as
a browser, a marketplace or the partner node would send it.
"""

from __future__ import annotations

import json
import os
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


def test_a_node_keeps_serving_without_redis_and_catches_up_when_it_is_back(cluster):
    bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]
    pk = codes(bpkn)
    marketplace = httpx.Client(
        base_url=bpkn.url, timeout=30, headers={"Authorization": f"Api-Key {api_key(bpkn, 'M')}"}
    )
    busy = httpx.Client(
        base_url=bpkn.url, timeout=30, headers={"X-API-Key": api_key(bpkn, "Busy portal")}
    )
    # Before the outage: a case forwarded to KCA, whose answer will arrive while Redis is down.
    before = file_and_forward(bpkn, "budi")
    wait_status(kca, before, "forwarded")

    bpkn.stop_broker()
    assert not redis_reachable(bpkn)

    # The API: a filing is stored and answered 201; its retry is answered the same, once.
    first = file_through_the_api(marketplace, "Ayu Lestari", key="outage-filing-1")
    assert first.status_code == 201, first.text
    again = file_through_the_api(marketplace, "Ayu Lestari", key="outage-filing-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["reference"] == first.json()["reference"]
    api_reference = first.json()["reference"]
    assert marketplace.get(f"/api/v1/disputes/{api_reference}/").status_code == 200

    # The limit still holds, counted by each web process (two) on its own: never a 500.
    burst = [busy.get("/api/v1/reference-data/") for _ in range(2 * API_RATE + 1)]
    assert {response.status_code for response in burst} <= {200, 429}
    refused = [response for response in burst if response.status_code == 429]
    assert refused, "more than the limit of every process together passed"
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert refused[0].json()["error"]["code"] == "throttled"

    # The portal and a caseworker file as usual; the caseworker's forward waits in the outbox.
    portal_reference = file_on_the_portal(bpkn, pk, "Dewi Lestari")
    casework_reference = file_and_forward_as_caseworker(bpkn, pk)
    assert bpkn.show(casework_reference)["status"] == "forwarded"

    # The relay inbox: KCA accepts the case; BPKN's inbox applies it without Redis.
    kca.dispute("act", before, "accept_forwarded", "--as", "minji")
    wait_delivered(kca, bpkn, before)
    assert bpkn.show(before)["status"] == kca.show(before)["status"]

    # Nothing left BPKN meanwhile: the forward and the consumers' emails wait in the database.
    waiting = [
        row for row in outbound(bpkn.relay_log()) if row.get("dispute") == casework_reference
    ]
    assert waiting and all(row["state"] != "acknowledged" for row in waiting)
    unsent = query(
        bpkn,
        "sorted(__import__('portal.models').models.Notification.objects.filter("
        "sent_at__isnull=True).values_list('dispute__reference', flat=True).distinct())",
    )
    assert {api_reference, portal_reference, casework_reference} <= set(unsent)

    # Redis comes back while a marketplace keeps filing: every filing is answered 201.
    answers: list[httpx.Response] = []
    stop = threading.Event()

    def keep_filing():
        number = 0
        while not stop.is_set() or number < 3:
            number += 1
            answers.append(file_through_the_api(marketplace, f"Consumer {number}"))

    filer = threading.Thread(target=keep_filing)
    filer.start()
    try:
        wait_for(lambda: len(answers) >= 2, timeout=60, what="filings while Redis is down")
        bpkn.start_broker()
        count = len(answers)
        wait_for(lambda: len(answers) >= count + 3, timeout=60, what="filings after the restart")
    finally:
        stop.set()
        filer.join(timeout=120)
    assert redis_reachable(bpkn)
    assert [response.status_code for response in answers] == [201] * len(answers), [
        response.text[:300] for response in answers if response.status_code != 201
    ]

    # The sweeps catch up: the forward reaches KCA once, every waiting email is sent once.
    wait_delivered(bpkn, kca, casework_reference, timeout=180)
    wait_status(kca, casework_reference, "forwarded")
    assert delivery_problems(kca, bpkn, before) == []
    wait_for(
        lambda: query(
            bpkn,
            "__import__('portal.models').models.Notification.objects.filter("
            "sent_at__isnull=True).count() == 0",
        ),
        timeout=180,
        interval=1,
        what="every waiting email to be sent",
    )
    filed = [api_reference, portal_reference, casework_reference] + [
        response.json()["reference"] for response in answers
    ]
    counts = query(
        bpkn,
        "{'disputes': list(__import__('disputes.models').models.Dispute.objects.filter("
        f"reference__in={filed!r}).values_list('reference', flat=True)),"
        " 'receipts': list(__import__('portal.models').models.Notification.objects.filter("
        f"dispute__reference__in={filed!r}, kind='filing_receipt').values_list("
        "'dispute__reference', 'attempts'))}",
    )
    assert sorted(counts["disputes"]) == sorted(set(filed)) and len(set(filed)) == len(filed)
    assert sorted(reference for reference, _attempts in counts["receipts"]) == sorted(filed)
    assert all(attempts == 1 for _reference, attempts in counts["receipts"])
