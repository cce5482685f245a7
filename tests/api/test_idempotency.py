"""A retried filing with the same Idempotency-Key files nothing twice, even when concurrent."""

import base64
import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from api.models import ApiFiling, IdempotencyRecord
from disputes.models import Dispute, Evidence
from tests.api.conftest import PNG_BYTES, filing


def test_a_retry_with_the_same_key_and_body_replays_the_first_answer(portal):
    _client, _key, http = portal
    first = http.post("/api/v1/disputes/", filing(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = http.post("/api/v1/disputes/", filing(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Dispute.objects.count() == 1


def test_the_same_key_with_a_different_body_is_refused_with_422(portal):
    _client, _key, http = portal
    http.post("/api/v1/disputes/", filing(), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = http.post(
        "/api/v1/disputes/",
        filing(merchant_name="Another shop"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Dispute.objects.count() == 1


def test_keys_are_per_client_and_new_keys_file_again(make_client):
    _a, _key, first_portal = make_client("Portal A")
    _b, _key, second_portal = make_client("Portal B")
    one = first_portal.post(
        "/api/v1/disputes/", filing(), format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    two = second_portal.post(
        "/api/v1/disputes/", filing(), format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    three = first_portal.post(
        "/api/v1/disputes/", filing(), format="json", HTTP_IDEMPOTENCY_KEY="other"
    )
    assert len({one.json()["reference"], two.json()["reference"], three.json()["reference"]}) == 3
    assert Dispute.objects.count() == 3


def test_a_refused_request_keeps_no_record_so_the_key_can_be_retried(portal):
    _client, _key, http = portal
    bad = http.post(
        "/api/v1/disputes/",
        filing(purchase_date="2999-01-01"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-3",
    )
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    good = http.post("/api/v1/disputes/", filing(), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert good.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_file_one_dispute(portal):
    """Several threads, each with its own database connection, send the same request at once."""
    _client, key, _http = portal
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    results: list = [None] * threads_count

    def send(index: int):
        try:
            http = APIClient()
            http.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
            barrier.wait(timeout=30)
            response = http.post(
                "/api/v1/disputes/", filing(), format="json", HTTP_IDEMPOTENCY_KEY="burst"
            )
            results[index] = (
                response.status_code,
                response.json(),
                response.headers.get("Idempotent-Replayed"),
            )
        except Exception as error:  # reported below, with the thread's index
            results[index] = ("exception", repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(not thread.is_alive() for thread in threads)
    assert all(result is not None and result[0] == 201 for result in results), results
    assert len({body["reference"] for _status, body, _replayed in results}) == 1
    assert [replayed for _status, _body, replayed in results].count("true") == threads_count - 1
    assert Dispute.objects.count() == 1
    assert ApiFiling.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    assert connection.vendor in ("postgresql", "sqlite")


def test_a_used_key_with_an_invalid_body_is_still_422_not_400(portal):
    _client, _key, http = portal
    http.post("/api/v1/disputes/", filing(), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    response = http.post(
        "/api/v1/disputes/",
        filing(consumer_email="broken"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-4",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_replay_answers_are_forgotten_after_their_retention_time(portal, settings):
    import datetime as dt

    from django.utils import timezone

    from api.tasks import purge_idempotency_records

    _client, _key, http = portal
    http.post("/api/v1/disputes/", filing(), format="json", HTTP_IDEMPOTENCY_KEY="old")
    http.post("/api/v1/disputes/", filing(), format="json", HTTP_IDEMPOTENCY_KEY="new")
    settings.ODR_IDEMPOTENCY_RETENTION_HOURS = 72
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - dt.timedelta(hours=73)
    )
    assert purge_idempotency_records() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert Dispute.objects.count() == 2  # the filings themselves stay


def test_a_new_filing_writes_its_record_once_with_the_answer(portal):
    _client, _key, http = portal
    with CaptureQueriesContext(connection) as queries:
        response = http.post(
            "/api/v1/disputes/", filing(), format="json", HTTP_IDEMPOTENCY_KEY="once"
        )
    assert response.status_code == 201
    touching = [q["sql"] for q in queries if "api_idempotencyrecord" in q["sql"]]
    assert len(touching) == 1 and touching[0].startswith("INSERT")
    record = IdempotencyRecord.objects.get(key="once")
    assert record.response_status == 201 and record.response_body == response.json()


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_with_evidence_store_its_files_once(portal, settings, tmp_path):
    """Evidence files are written outside the database: the key is reserved before the work, so
    a duplicate waits instead of writing files that its rollback would leave behind."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "base_url": None},
        },
    }
    _client, key, _http = portal
    body = filing(
        evidence=[{"name": "receipt.png", "content_base64": base64.b64encode(PNG_BYTES).decode()}]
    )
    threads_count = 4
    barrier = threading.Barrier(threads_count)
    statuses: list = [None] * threads_count

    def send(index: int):
        try:
            http = APIClient()
            http.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
            barrier.wait(timeout=30)
            response = http.post(
                "/api/v1/disputes/", body, format="json", HTTP_IDEMPOTENCY_KEY="with-files"
            )
            statuses[index] = response.status_code
        except Exception as error:  # reported below, with the thread's index
            statuses[index] = repr(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [201] * threads_count, statuses
    assert Dispute.objects.count() == 1 and Evidence.objects.count() == 1
    stored = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(stored) == 1, stored
