"""Only a client holding a valid key of an active client gets in; every refusal is 401."""

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
