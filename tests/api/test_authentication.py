"""Only a client holding a valid key of an active client gets in; every refusal is 401."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from api import services
from api.models import ApiClient


def test_no_key_is_401_not_authenticated(seeded):
    response = APIClient().get("/api/v1/reference-data/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    error = response.json()["error"]
    assert error["code"] == "not_authenticated"
    assert error["details"] == {"reason": "missing_api_key"}
    assert error["message"]


def test_a_wrong_key_is_refused(portal):
    _client, key, _http = portal
    prefix = key.split(".")[0]
    for wrong in (f"{prefix}.not-the-secret", "odr_00000000.whatever", "garbage", key + "x"):
        http = APIClient()
        http.credentials(HTTP_AUTHORIZATION=f"Api-Key {wrong}")
        response = http.get("/api/v1/reference-data/")
        assert response.status_code == 401, wrong
        assert response.json()["error"]["code"] == "not_authenticated"
        assert response.json()["error"]["details"] == {"reason": "invalid_api_key"}


def test_a_deactivated_client_is_refused(portal):
    client, _key, http = portal
    assert http.get("/api/v1/reference-data/").status_code == 200
    services.revoke_client(client)
    response = http.get("/api/v1/reference-data/")
    assert response.status_code == 401
    assert response.json()["error"]["details"]["reason"] == "invalid_api_key"


def test_a_rotated_key_replaces_the_old_one(portal):
    client, _old_key, http = portal
    new_key = services.rotate_key(client)
    assert http.get("/api/v1/reference-data/").status_code == 401
    fresh = APIClient()
    fresh.credentials(HTTP_X_API_KEY=new_key)
    assert fresh.get("/api/v1/reference-data/").status_code == 200


def test_the_key_is_stored_only_as_a_hash_and_use_is_recorded(portal):
    client, key, http = portal
    stored = ApiClient.objects.get(pk=client.pk)
    assert key not in (stored.key_hash, stored.key_prefix)
    assert key.startswith(stored.key_prefix)
    assert stored.last_used_at is None
    http.get("/api/v1/reference-data/")
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_the_key_also_works_in_the_x_api_key_header(portal):
    _client, key, _http = portal
    http = APIClient()
    http.credentials(HTTP_X_API_KEY=key)
    assert http.get("/api/v1/reference-data/").status_code == 200


# --- the per-process cache of checked keys ---------------------------------------------------
# Only keys read outside a transaction are remembered, so these tests commit (transaction=True).


@pytest.mark.django_db(transaction=True)
def test_a_remembered_key_needs_no_query_and_a_deactivation_applies_at_once(portal):
    client, key, http = portal
    assert http.get("/api/v1/reference-data/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert services.authenticate_key(key).pk == client.pk
    assert not [query for query in queries if "api_apiclient" in query["sql"]]
    services.revoke_client(client)
    response = http.get("/api/v1/reference-data/")
    assert response.status_code == 401
    assert response.json()["error"]["details"]["reason"] == "invalid_api_key"


@pytest.mark.django_db(transaction=True)
def test_a_rotated_key_is_refused_at_once_although_it_was_remembered(portal):
    client, _old_key, http = portal
    assert http.get("/api/v1/reference-data/").status_code == 200
    new_key = services.rotate_key(client)
    assert http.get("/api/v1/reference-data/").status_code == 401
    fresh = APIClient()
    fresh.credentials(HTTP_X_API_KEY=new_key)
    assert fresh.get("/api/v1/reference-data/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_deactivation_by_another_process_applies_within_the_cache_time(portal, settings):
    settings.ODR_API_KEY_CACHE_SECONDS = 1.0
    client, _key, http = portal
    remembered_at = time.monotonic()
    assert http.get("/api/v1/reference-data/").status_code == 200
    # Another process (the admin on another worker, `manage.py api_client deactivate`): its
    # save sends no signal to this one, as an UPDATE without signals does here.
    ApiClient.objects.filter(pk=client.pk).update(is_active=False)
    still = http.get("/api/v1/reference-data/").status_code
    if time.monotonic() - remembered_at < 1.0:
        assert still == 200  # remembered: at most ODR_API_KEY_CACHE_SECONDS more
    time.sleep(max(0.0, remembered_at + 1.05 - time.monotonic()))
    assert http.get("/api/v1/reference-data/").status_code == 401


def test_a_key_read_inside_a_transaction_is_not_remembered(portal):
    # The test runs in a transaction that is rolled back: what it read may never have existed.
    client, _key, http = portal
    assert http.get("/api/v1/reference-data/").status_code == 200
    ApiClient.objects.filter(pk=client.pk).update(is_active=False)  # no signal
    assert http.get("/api/v1/reference-data/").status_code == 401
