"""/healthz says the process answers; /readyz says whether it can do its work."""

from __future__ import annotations

import pytest

from odr.cluster import free_port

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "node": "ID-BPKN"}


def test_readyz_is_ready_with_database_broker_keys_and_migrations(client, node):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {
        "database": {"ok": True},
        "broker": {"ok": True},
        "migrations": {"ok": True},
        "keys": {"ok": True},
    }


def test_readyz_fails_without_the_nodes_private_keys(client, node, settings, tmp_path):
    settings.ODR_KEYS_DIR = tmp_path / "empty"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["keys"]["ok"] is False
    assert body["checks"]["database"] == {"ok": True}


def test_readyz_fails_when_the_broker_cannot_be_reached(client, node, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["ok"] is False
    assert checks["broker"]["detail"] == "ConnectionError"
    assert checks["database"]["ok"] and checks["keys"]["ok"]


def test_every_response_carries_a_request_id_and_keeps_a_sane_one_from_the_proxy(client):
    own = client.get("/healthz")["X-Request-ID"]
    assert len(own) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234.5")["X-Request-ID"] == "lb-1234.5"
    odd = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")["X-Request-ID"]
    assert odd != "<script>" and len(odd) == 32
