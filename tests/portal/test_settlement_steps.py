"""The consumer follows the merchant's part on the tracking page, in their language: accepts a
proposal, confirms receipt, rates the case."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from disputes import services
from disputes.models import Rating, Receipt, Status
from portal.tokens import make_tracking_token
from tests.factories import file_dispute

pytestmark = pytest.mark.django_db
MERCHANT_VIA_KCA = services.Actor.agency("KR-KCA", name="Seoul Gadget", on_behalf_of="merchant")


def proposed(caseworker):
    dispute = file_dispute()
    home = services.Actor.caseworker(caseworker)
    services.start_review(dispute, actor=home)
    services.forward_dispute(dispute, actor=home)
    kca = services.Actor.agency("KR-KCA")
    services.accept_forwarded(dispute, actor=kca)
    services.contact_merchant(dispute, actor=kca)
    services.merchant_respond(dispute, actor=MERCHANT_VIA_KCA)
    return services.propose_settlement(
        dispute,
        actor=MERCHANT_VIA_KCA,
        proposal="전액 환불",
        language="ko",
        amount="1250000",
        currency="IDR",
        remedy="refund",
        perform_by=timezone.now().date() + dt.timedelta(days=7),
    )


def test_the_consumer_accepts_confirms_receipt_and_rates_in_indonesian(client, seeded, caseworker):
    dispute = proposed(caseworker)
    url = f"/track/{make_tracking_token(dispute)}/"
    client.cookies["odr_language"] = "id"
    page = client.get(url).content.decode()
    assert "Penjual menjawab; negosiasi dimulai" in page
    assert "Pengembalian dana, dilaksanakan paling lambat" in page

    assert client.post(url + "settlement/", {"decision": "accept"}).status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == Status.SETTLED and dispute.settlement_remedy == "refund"

    services.confirm_performance(
        dispute,
        actor=MERCHANT_VIA_KCA,
        performed_on=timezone.now().date(),
        note="KB 송금",
        language="ko",
    )
    page = client.get(url).content.decode()
    assert "Penjual menyatakan penyelesaian sudah dilaksanakan" in page
    assert 'data-testid="form-receipt"' in page

    assert client.post(url + "receipt/", {"received": "yes"}).status_code == 302
    dispute.refresh_from_db()
    assert dispute.consumer_receipt == Receipt.RECEIVED

    refused = client.post(url + "rating/", {"result": "7", "handling": "4"})
    assert refused.status_code == 400 and not Rating.objects.exists()
    rated = client.post(url + "rating/", {"result": "5", "handling": "4", "comment": "Cepat."})
    assert rated.status_code == 302
    assert sorted(Rating.objects.values_list("aspect", "score")) == [("handling", 4), ("result", 5)]
    page = client.get(url).content.decode()
    assert "Anda memberi nilai 5 dari 5 untuk hasilnya" in page
    assert 'data-testid="form-rating"' not in page


def test_receipt_cannot_be_confirmed_before_a_settlement(client, seeded, caseworker):
    dispute = proposed(caseworker)
    url = f"/track/{make_tracking_token(dispute)}/"
    response = client.post(url + "receipt/", {"received": "yes"})
    assert response.status_code == 400
    dispute.refresh_from_db()
    assert dispute.consumer_receipt == ""


def test_the_merchants_steps_reach_the_consumer_by_email_in_indonesian(seeded, caseworker):
    from django.core import mail

    from portal.mailer import send_due_notifications

    dispute = proposed(caseworker)
    while send_due_notifications():
        pass
    proposal = next(email for email in mail.outbox if "전액 환불" in email.body)
    assert "Penjual mengusulkan penyelesaian berikut:" in proposal.body
    mail.outbox.clear()

    services.accept_settlement(dispute, actor=services.Actor.consumer("Dewi"))
    services.confirm_performance(
        dispute, actor=MERCHANT_VIA_KCA, performed_on=timezone.now().date(), language="ko"
    )
    while send_due_notifications():
        pass
    bodies = "\n".join(email.body for email in mail.outbox)
    assert "Penjual menyatakan penyelesaian sudah dilaksanakan" in bodies
    assert all(email.to == ["dewi@example.id"] for email in mail.outbox)
