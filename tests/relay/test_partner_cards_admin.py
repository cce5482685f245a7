"""An agency admin downloads this node's card and uploads a partner's in the admin, sees the key
thumbprints and confirms the partner."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from agencies import roles
from agencies.models import Agency
from relay import cards
from tests.accounts.conftest import make_staff, verified_login
from tests.relay.test_partner_cards import malaysia_card


@pytest.fixture
def admin_client(client, node):
    verified_login(client, make_staff("admin-bpkn", roles.AGENCY_ADMIN))
    return client


def upload(client, content: bytes):
    return client.post(
        "/admin/agencies/agency/import-card/",
        {"card": SimpleUploadedFile("card.json", content, content_type="application/json")},
    )


def test_the_admin_downloads_this_nodes_card(admin_client):
    listing = admin_client.get("/admin/agencies/agency/").content.decode()
    assert "Import a partner card" in listing and "Download this node" in listing
    response = admin_client.get("/admin/agencies/agency/partner-card.json")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(response.content) == cards.own_card() | {
        "issued_at": json.loads(response.content)["issued_at"]
    }


def test_the_admin_uploads_a_card_sees_thumbprints_and_confirms(admin_client):
    card = malaysia_card()
    response = upload(admin_client, json.dumps(card).encode())
    assert response.status_code == 302
    agency = Agency.objects.get(code="MY-NCCC")
    assert agency.status == Agency.Status.PROSPECTIVE
    page = admin_client.get(response.url).content.decode()
    assert "stored as prospective" in page
    for key in card["keys"]:
        assert cards.grouped(key["thumbprint"]) in page

    confirmed = admin_client.post(
        "/admin/agencies/agency/",
        {"action": "confirm_partners", "_selected_action": [agency.pk]},
        follow=True,
    )
    assert "MY-NCCC confirmed." in confirmed.content.decode()
    agency.refresh_from_db()
    assert agency.status == Agency.Status.ACTIVE


def test_a_bad_upload_is_a_form_error_and_stores_nothing(admin_client):
    card = malaysia_card()
    card["keys"][0]["d"] = "A" * 43
    response = upload(admin_client, json.dumps(card).encode())
    assert response.status_code == 200
    assert "contains private key material" in response.content.decode()
    not_json = upload(admin_client, b"\x89PNG\r\n")
    assert "not JSON" in not_json.content.decode()
    assert not Agency.objects.filter(code="MY-NCCC").exists()


def test_a_caseworker_cannot_import(client, node):
    verified_login(client, make_staff("budi", roles.CASEWORKER))
    response = upload(client, json.dumps(malaysia_card()).encode())
    assert response.status_code == 403
    assert not Agency.objects.filter(code="MY-NCCC").exists()
