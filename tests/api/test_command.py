"""`manage.py api_client` issues a key once, and the key works at once."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from api.models import ApiClient


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("api_client", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_create_prints_a_working_key_once_and_deactivate_stops_it(seeded):
    key, note = run("create", "Marketplace X", "--scope", "disputes:read")
    assert "shown only this once" in note
    client = ApiClient.objects.get(name="Marketplace X")
    assert client.scopes == ["disputes:read"]
    assert client.agency.code == "ID-BPKN"
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert http.get("/api/v1/reference-data/").status_code == 200

    listing, _err = run("list")
    assert client.key_prefix in listing
    assert key not in listing

    run("deactivate", "Marketplace X")
    assert http.get("/api/v1/reference-data/").status_code == 401


def test_create_refuses_a_duplicate_name(seeded):
    run("create", "Marketplace Y", "--scope", "disputes:create")
    with pytest.raises(CommandError):
        run("create", "Marketplace Y", "--scope", "disputes:create")
