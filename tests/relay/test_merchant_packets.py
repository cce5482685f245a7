"""The merchant's part travels between the nodes: the partner's packets change the home case, and
the consumer's answers at home go back to the partner."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from disputes import services
from disputes.models import Message, Receipt, Status, TimelineEvent
from relay import bodies
from relay.models import OutboundPacket
from tests.factories import file_dispute
from tests.relay.partner import message_body, status_body

pytestmark = pytest.mark.django_db


def post(client, kca, body, ref, packet_type="dispute.status"):
    response = client.post(
        reverse("relay:inbox"),
        kca.packet(packet_type, body, dispute=ref),
        content_type="application/jose",
    )
    return response.json()


def forwarded_to_kca(caseworker):
    dispute = file_dispute()
    actor = services.Actor.caseworker(caseworker)
    services.start_review(dispute, actor=actor)
    services.forward_dispute(dispute, actor=actor)
    return dispute


def test_the_merchant_answers_proposes_and_pays_through_the_partner(client, kca, node, caseworker):
    dispute = forwarded_to_kca(caseworker)
    ref = dispute.reference
    perform_by = (timezone.now().date() + dt.timedelta(days=14)).isoformat()
    merchant = {"actor_kind": "merchant"}
    for body, packet_type in (
        (status_body("accept_forwarded", actor_kind="partner_agency"), "dispute.status"),
        (status_body("contact_merchant", actor_kind="partner_agency"), "dispute.status"),
        (status_body("merchant_respond", **merchant), "dispute.status"),
        (message_body("배송이 늦어 죄송합니다.", author_kind="merchant"), "dispute.message"),
        (
            status_body(
                event="settlement_proposed",
                text="전액 환불",
                amount="1250000.00",
                currency="IDR",
                remedy="refund",
                perform_by=perform_by,
                **merchant,
            ),
            "dispute.status",
        ),
    ):
        answer = post(client, kca, body, ref, packet_type)
        assert answer["code"] == "applied", answer
    dispute.refresh_from_db()
    assert dispute.status == Status.NEGOTIATION
    assert dispute.messages.get().author_kind == Message.Author.MERCHANT
    assert (dispute.settlement_remedy, str(dispute.settlement_due_on)) == ("refund", perform_by)
    proposed = dispute.timeline.get(data__event="settlement_proposed")
    assert proposed.actor == TimelineEvent.Actor.MERCHANT

    # The consumer accepts at home: the outcome goes to the partner.
    services.accept_settlement(dispute, actor=services.Actor.consumer("Dewi"))
    outcome = OutboundPacket.objects.filter(type="dispute.outcome").get()
    assert outcome.body["transition"] == "accept_settlement"

    paid = status_body(
        event="performance_confirmed",
        text="KB 송금 2026-12-01",
        performed_on=timezone.now().date().isoformat(),
        **merchant,
    )
    assert post(client, kca, paid, ref)["code"] == "applied"
    dispute.refresh_from_db()
    assert dispute.settlement_performed_on == timezone.now().date()

    dispute = services.confirm_receipt(
        dispute, actor=services.Actor.consumer("Dewi"), received=True, language="id"
    )
    receipt = OutboundPacket.objects.filter(type="dispute.status").latest("pk")
    assert receipt.body["event"] == "receipt_confirmed"
    assert dispute.consumer_receipt == Receipt.RECEIVED
    # The merchant's own changes are not echoed back to the partner.
    assert not OutboundPacket.objects.filter(body__event="performance_confirmed").exists()


def test_silence_and_a_decline_arrive_as_transitions(client, kca, node, caseworker):
    dispute = forwarded_to_kca(caseworker)
    ref = dispute.reference
    for body in (
        status_body("accept_forwarded", actor_kind="partner_agency"),
        status_body("contact_merchant", actor_kind="partner_agency"),
        status_body("record_merchant_silence", actor_kind="system", text="No answer by 12-10"),
    ):
        assert post(client, kca, body, ref)["code"] == "applied"
    dispute.refresh_from_db()
    assert dispute.status == Status.MEDIATION
    declined = status_body("merchant_decline", actor_kind="merchant", text="Delivered.")
    assert post(client, kca, declined, ref)["code"] == "domain_rejected"


def test_the_merchant_cannot_write_as_the_consumer(client, kca, node, caseworker):
    dispute = forwarded_to_kca(caseworker)
    ref = dispute.reference
    for body in (
        status_body("accept_forwarded", actor_kind="partner_agency"),
        status_body("contact_merchant", actor_kind="partner_agency"),
    ):
        post(client, kca, body, ref)
    receipt = status_body(event="receipt_confirmed", actor_kind="consumer")
    assert post(client, kca, receipt, ref)["code"] == "domain_rejected"
    unknown = status_body(event="merchant_paid_twice", actor_kind="merchant")
    assert post(client, kca, unknown, ref)["code"] == "schema_invalid"


def test_every_shared_case_event_has_a_schema_value():
    from relay import packets

    for event in bodies.NOTE_EVENTS:
        body = status_body(event=event, actor_kind="merchant")
        assert packets.schema_errors("dispute.status", body) == [], event


def test_the_merchant_granting_the_request_settles_the_home_case(client, kca, node, caseworker):
    dispute = forwarded_to_kca(caseworker)
    ref = dispute.reference
    perform_by = (timezone.now().date() + dt.timedelta(days=5)).isoformat()
    for body in (
        status_body("accept_forwarded", actor_kind="partner_agency"),
        status_body("contact_merchant", actor_kind="partner_agency"),
        status_body(
            "accept_requested_remedy",
            actor_kind="merchant",
            text="요청하신 대로 환불하겠습니다.",
            remedy="refund",
            amount="1250000.00",
            currency="IDR",
            perform_by=perform_by,
        ),
    ):
        answer = post(client, kca, body, ref)
        assert answer["code"] == "applied", answer
    dispute.refresh_from_db()
    assert dispute.status == Status.SETTLED
    assert (dispute.settlement_remedy, str(dispute.settlement_due_on)) == ("refund", perform_by)
    assert dispute.settlement_amount == dispute.amount


def test_a_settlement_recorded_in_mediation_carries_its_remedy_and_due_date(
    client, kca, node, caseworker
):
    dispute = forwarded_to_kca(caseworker)
    ref = dispute.reference
    due = (timezone.now().date() + dt.timedelta(days=10)).isoformat()
    for body in (
        status_body("accept_forwarded", actor_kind="partner_agency"),
        status_body("contact_merchant", actor_kind="partner_agency"),
        status_body("start_mediation", actor_kind="partner_agency"),
    ):
        assert post(client, kca, body, ref)["code"] == "applied"
    outcome = {
        "transition": "record_settlement",
        "from_status": "mediation",
        "to_status": "settled",
        "actor_kind": "partner_agency",
        "actor_name": "Kim Minji",
        "summary": "Replacement headphones, sent by courier",
        "language": "en",
        "settlement_amount": None,
        "settlement_currency": "",
        "settlement_remedy": "replacement",
        "settlement_due_on": due,
        "referred_to": None,
        "at": "2026-11-21T02:00:00+00:00",
    }
    answer = post(client, kca, outcome, ref, "dispute.outcome")
    assert answer["code"] == "applied", answer
    dispute.refresh_from_db()
    assert dispute.status == Status.SETTLED
    assert (dispute.settlement_remedy, str(dispute.settlement_due_on)) == ("replacement", due)

    # And the other way: a settlement recorded here says the same.
    from relay.bodies import outcome_body

    event = dispute.timeline.get(to_status="settled")
    body = outcome_body(event, dispute)
    assert (body["settlement_remedy"], body["settlement_due_on"]) == ("replacement", due)
    from relay import packets

    assert packets.schema_errors("dispute.outcome", body) == []
