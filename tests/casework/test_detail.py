"""The dispute page: every case field, deadlines, agencies, timeline; queries don't grow."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agencies import refcache
from disputes import services
from tests.factories import file_dispute


def test_the_page_shows_the_case_the_deadline_and_the_partner(
    caseworker_client, caseworker, seeded
):
    actor = services.Actor.caseworker(caseworker)
    dispute = services.forward_dispute(
        services.start_review(file_dispute(), actor=actor), actor=actor
    )
    html = caseworker_client.get(
        reverse("casework:detail", args=[dispute.reference])
    ).content.decode()
    for text in (
        "Dewi Lestari",
        "dewi@example.id",
        "+62 812 0000 1111",
        "Seoul Gadget Store",
        "https://seoulgadget.example.kr",
        "SGS-2026-88812",
        "IDR\xa01,250,000",
        "Credit or debit card",
        "Saya membayar headphone tetapi barang tidak pernah dikirim.",
        "Korea Consumer Agency",
        "MOU-BPKN-KCA-2021",
        "Partner acknowledgement due",
        "Waiting for the partner agency",
        "Submitted → Under review",
        "Under review → Forwarded to partner agency",
    ):
        assert text in html, text
    assert '<blockquote lang="id" class="original">Saya membayar' in html


def queries_for(client, dispute) -> int:
    # From the same (empty) reference cache each time: an entry that expired between two
    # measurements (5 s, on a slow machine) would otherwise count as one more query.
    refcache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("casework:detail", args=[dispute.reference])).status_code == 200
    return len(queries)


def test_more_messages_do_not_mean_more_queries(caseworker_client, caseworker, seeded):
    dispute = file_dispute()
    consumer = services.Actor.consumer("Dewi")
    actor = services.Actor.caseworker(caseworker)
    message = services.post_message(dispute, actor=consumer, body="Halo", language="id")
    services.add_translation(message, actor=actor, language="en", body="Hello")
    few = queries_for(caseworker_client, dispute)
    for number in range(5):
        message = services.post_message(
            dispute, actor=consumer, body=f"Pesan {number}", language="id"
        )
        services.add_translation(message, actor=actor, language="en", body=f"Message {number}")
    assert queries_for(caseworker_client, dispute) == few


def test_an_accepted_offer_shows_as_the_outcome_not_as_an_open_offer(
    caseworker_client, caseworker, seeded
):
    import datetime as dt

    from django.utils import timezone

    home = services.Actor.caseworker(caseworker)
    dispute = services.forward_dispute(
        services.start_review(file_dispute(), actor=home), actor=home
    )
    kca = services.Actor.agency("KR-KCA")
    merchant = services.Actor.agency("KR-KCA", name="Seoul Gadget", on_behalf_of="merchant")
    services.accept_forwarded(dispute, actor=kca)
    services.contact_merchant(dispute, actor=kca)
    services.merchant_respond(dispute, actor=merchant)
    services.propose_settlement(
        dispute,
        actor=merchant,
        proposal="Full refund",
        language="en",
        amount="1250000",
        currency="IDR",
        remedy="refund",
        perform_by=timezone.now().date() + dt.timedelta(days=7),
    )
    page = reverse("casework:detail", args=[dispute.reference])
    assert "Offer put to the consumer" in caseworker_client.get(page).content.decode()

    services.accept_settlement(dispute, actor=services.Actor.consumer("Dewi"))
    html = caseworker_client.get(page).content.decode()
    assert "Offer put to the consumer" not in html
    assert "Outcome" in html
    assert "Full refund (IDR\xa01,250,000)" in html
