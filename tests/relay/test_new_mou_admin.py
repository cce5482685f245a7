"""The guided admin page for a new MoU: partner picked or imported from its card, scope,
languages, deadlines, dates, the signed document and the default team; a draft comes out."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from agencies import roles
from agencies.models import Agency, MoU
from tests.accounts.conftest import make_staff, verified_login
from tests.relay.partner import PDF
from tests.relay.test_partner_cards import malaysia_card

URL = "/admin/agencies/mou/new/"


@pytest.fixture
def admin_client(client, node):
    verified_login(client, make_staff("admin-bpkn", roles.AGENCY_ADMIN))
    return client


def form(**overrides):
    data = {
        "reference": "MOU-BPKN-KCA-2027",
        "title": "Renewal",
        "categories": [],
        "max_claim_amount": "4000",
        "max_claim_currency": "USD",
        "partner_stages": ["merchant_contact", "negotiation"],
        "languages": ["en", "ko"],
        "acknowledge_days": "4",
        "merchant_contact_days": "8",
        "resolution_days": "45",
        "signed_on": "2026-12-01",
        "effective_from": "2027-01-01",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_the_changelist_offers_the_guided_page(admin_client):
    assert "New MoU (guided)" in admin_client.get("/admin/agencies/mou/").content.decode()
    page = admin_client.get(URL).content.decode()
    for section in ("1. The partner", "3. Scope", "4. Languages and deadlines", "6. Team"):
        assert section in page


def test_a_draft_with_an_existing_partner_its_document_and_team(admin_client, seeded):
    team = Group.objects.create(name="Korea desk")
    document = SimpleUploadedFile("signed.pdf", PDF, content_type="application/pdf")
    response = admin_client.post(
        URL,
        form(
            partner=seeded["KR-KCA"].pk,
            categories=[],
            document=document,
            default_team=team.pk,
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    mou = MoU.objects.get(reference="MOU-BPKN-KCA-2027")
    assert mou.status == MoU.Status.DRAFT
    assert mou.partner_stages == ["merchant_contact", "negotiation"]
    assert mou.languages == ["en", "ko"]
    assert (mou.acknowledge_days, mou.merchant_contact_days, mou.resolution_days) == (4, 8, 45)
    assert mou.default_team == team
    assert mou.document.read().startswith(b"%PDF")
    page = admin_client.get(response.url).content.decode()
    assert "run the connectivity check" in page


def test_a_draft_with_a_partner_imported_from_its_card(admin_client):
    card = SimpleUploadedFile("nccc.json", json.dumps(malaysia_card()).encode())
    response = admin_client.post(URL, form(reference="MOU-BPKN-NCCC-2026", card=card))
    assert response.status_code == 302
    agency = Agency.objects.get(code="MY-NCCC")
    assert agency.status == Agency.Status.PROSPECTIVE
    assert MoU.objects.get(reference="MOU-BPKN-NCCC-2026").is_party(agency)
    assert "compare the partner" in admin_client.get(response.url).content.decode()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "Pick the partner agency or import its card (one)."),
        ({"max_claim_currency": ""}, "Give the currency of the maximum."),
        ({"effective_until": "2026-01-01"}, "The MoU cannot end before it starts."),
        ({"reference": "MOU-BPKN-KCA-2021"}, "An MoU with this reference exists already."),
    ],
)
def test_bad_input_is_a_form_error_and_creates_nothing(admin_client, seeded, overrides, message):
    before = MoU.objects.count()
    data = form(**overrides)
    if overrides:
        data["partner"] = seeded["KR-KCA"].pk
    response = admin_client.post(URL, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert MoU.objects.count() == before


def test_a_document_that_is_not_a_pdf_is_refused(admin_client, seeded):
    fake = SimpleUploadedFile("signed.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = admin_client.post(URL, form(partner=seeded["KR-KCA"].pk, document=fake))
    assert "The signed MoU must be a PDF file." in response.content.decode()
    assert not MoU.objects.filter(reference="MOU-BPKN-KCA-2027").exists()


def test_a_bad_card_stores_neither_partner_nor_mou(admin_client):
    card = malaysia_card()
    card["keys"][0]["crv"] = "X25519"
    upload = SimpleUploadedFile("nccc.json", json.dumps(card).encode())
    response = admin_client.post(URL, form(reference="MOU-BPKN-NCCC-2026", card=upload))
    assert response.status_code == 200
    assert "must be on curve Ed25519" in response.content.decode()
    assert not Agency.objects.filter(code="MY-NCCC").exists()
    assert not MoU.objects.filter(reference="MOU-BPKN-NCCC-2026").exists()
