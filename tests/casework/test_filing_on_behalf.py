"""Filing a dispute received by letter, email, WhatsApp, phone or at the counter."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agencies.models import Category, Country
from disputes.models import Dispute, ProblemType, Remedy, TimelineEvent


def form_data(**overrides):
    data = {
        "intake_channel": "whatsapp",
        "consumer_name": "Rina Wati",
        "consumer_email": "rina@example.id",
        "consumer_phone": "+62 811 2222 3333",
        "consumer_country": Country.objects.get(code="ID").pk,
        "consumer_language": "id",
        "merchant_name": "Incheon Fashion",
        "merchant_website": "https://incheon-fashion.example.kr",
        "merchant_country": Country.objects.get(code="KR").pk,
        "purchase_date": "2026-10-12",
        "amount": "750000",
        "currency": "idr",
        "payment_method": "e_wallet",
        "category": Category.objects.get(code="electronics").pk,
        "problem_types": [ProblemType.objects.get(code="non_delivery").pk],
        "desired_remedy": Remedy.objects.get(code="refund").pk,
        "consumer_account": "Jaket tidak pernah dikirim.",
        "filing_language": "id",
    }
    data.update(overrides)
    return data


def test_the_form_offers_only_offline_channels(caseworker_client, seeded):
    page = caseworker_client.get(reverse("casework:file")).content.decode()
    for channel in ("email", "whatsapp", "letter", "walk_in", "phone"):
        assert f'value="{channel}"' in page
    assert 'value="web"' not in page and 'value="api"' not in page


def test_filing_on_behalf_records_the_channel_and_the_caseworker(
    caseworker_client, caseworker, seeded
):
    receipt = SimpleUploadedFile("struk.txt", b"Pembayaran 750.000", "text/plain")
    response = caseworker_client.post(
        reverse("casework:file"), {**form_data(), "evidence": [receipt]}
    )
    dispute = Dispute.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("casework:detail", args=[dispute.reference])
    assert dispute.intake_channel == "whatsapp"
    assert dispute.currency == "IDR"
    assert dispute.evidence.get().original_name == "struk.txt"
    filed = dispute.timeline.get(kind=TimelineEvent.Kind.FILED)
    assert filed.actor == TimelineEvent.Actor.HOME_AGENCY
    assert filed.user == caseworker
    page = caseworker_client.get(response["Location"]).content.decode()
    assert "WhatsApp" in page and "Rina Wati" in page


def test_bad_input_is_shown_by_the_fields_and_nothing_is_filed(caseworker_client, seeded):
    bad_file = SimpleUploadedFile("photo.jpg", b"\x00\x01binary junk\x00", "image/jpeg")
    response = caseworker_client.post(
        reverse("casework:file"),
        {
            **form_data(intake_channel="web", currency="rupiah", problem_types=[]),
            "evidence": [bad_file],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    for field in ("intake_channel", "currency", "problem_types", "evidence"):
        assert f'id="id_{field}_error"' in html, field
    assert not Dispute.objects.exists()


def test_a_purchase_in_the_future_is_refused_by_the_service(caseworker_client, seeded):
    response = caseworker_client.post(
        reverse("casework:file"), form_data(purchase_date="2099-01-01")
    )
    assert response.status_code == 400
    assert "The purchase date cannot be in the future." in response.content.decode()
    assert not Dispute.objects.exists()
