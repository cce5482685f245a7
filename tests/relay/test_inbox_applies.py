"""Packets from a partner arrive through the inbox and change the case here, in order, once."""

from __future__ import annotations

import pytest
from django.urls import reverse

from disputes.models import Dispute, Message, Status
from relay.inbox import receive_packet
from relay.models import InboundPacket
from relay.packets import decode_receipt_claims
from tests.relay.partner import forward_body, message_body, status_body

pytestmark = pytest.mark.django_db


def post(client, sealed: bytes):
    return client.post(reverse("relay:inbox"), sealed, content_type="application/jose")


def test_a_forwarded_case_arrives_whole_with_its_evidence_and_messages(client, kca, node):
    response = post(
        client, kca.packet("dispute.forward", forward_body(), dispute="KCA-2026-000042")
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "accepted"
    assert response.json()["code"] == "applied"
    dispute = Dispute.objects.get(reference="KCA-2026-000042")
    assert dispute.status == Status.FORWARDED
    assert dispute.home_agency.code == "KR-KCA"
    assert dispute.partner_agency.code == "ID-BPKN"
    assert dispute.mou.reference == "MOU-BPKN-KCA-2021"
    assert dispute.consumer_email == ""  # contact details stay with the home agency
    # Grouped under its merchant here too, derived from the website (no packet field).
    assert dispute.merchant_key == "web:batik.example.id"
    assert list(dispute.problem_types.values_list("code", flat=True)) == ["non_delivery"]
    assert dispute.evidence.get().content_type == "application/pdf"
    message = dispute.messages.get()
    assert message.author_kind == Message.Author.CONSUMER
    assert message.uid == "5b0e1c9e-0d0c-4c4e-9b0c-000000000001"
    assert dispute.timeline.filter(kind="packet", text__contains="KCA").exists()
    # The node's caseworkers see the packet as applied.
    from relay.selectors import packets_for_dispute

    [view] = packets_for_dispute(dispute)
    assert (view.direction, view.type, view.state) == ("inbound", "dispute.forward", "applied")


def test_the_receipt_is_signed_by_this_node_over_the_bytes_received(client, kca, node):
    from relay import packets
    from tests.relay.partner import our_key

    sealed = kca.packet("dispute.forward", forward_body(), dispute="KCA-2026-000042")
    status, receipt, code = receive_packet(sealed, content_type="application/jose")

    key = our_key("sig")
    claims = packets.read_receipt(receipt, {key.kid: key.public_jwk})
    assert claims["sha256"] == packets.sha256_hex(sealed)
    assert claims["status"] == "accepted"
    assert claims["iss"] == "ID-BPKN"
    assert claims["aud"] == "KR-KCA"
    assert claims["pid"] == InboundPacket.objects.get().pid
    assert (status, code) == (200, "applied")


def test_later_packets_change_the_case_through_the_lifecycle(client, kca, node, caseworker):
    from disputes.services import Actor, accept_forwarded

    ref = "KCA-2026-000042"
    post(client, kca.packet("dispute.forward", forward_body(), dispute=ref))
    dispute = Dispute.objects.get(reference=ref)
    accept_forwarded(dispute, actor=Actor.caseworker(caseworker))

    response = post(client, kca.packet("dispute.message", message_body("Any news?"), dispute=ref))
    assert response.json()["code"] == "applied"
    assert dispute.messages.filter(body="Any news?", author_kind="home_agency").exists()

    response = post(
        client,
        kca.packet(
            "dispute.status", status_body("withdraw", text="Consumer withdrew"), dispute=ref
        ),
    )
    assert response.json()["code"] == "applied", response.json()
    dispute.refresh_from_db()
    assert dispute.status == Status.WITHDRAWN


def test_a_change_the_lifecycle_forbids_is_refused_and_leaves_the_case_alone(client, kca, node):
    ref = "KCA-2026-000042"
    post(client, kca.packet("dispute.forward", forward_body(), dispute=ref))
    # Only the partner (this node) may accept a forwarded case, never the home agency.
    response = post(
        client, kca.packet("dispute.status", status_body("accept_forwarded"), dispute=ref)
    )
    assert response.status_code == 409
    assert response.json()["code"] == "domain_rejected"
    assert "actor_not_allowed" in decode_receipt_claims(response.json()["receipt"])["detail"]
    assert Dispute.objects.get(reference=ref).status == Status.FORWARDED


def outcome_body(transition, *, actor_kind, summary="", amount=None, currency=""):
    return {
        "transition": transition,
        "from_status": "merchant_contacted",
        "to_status": "settled",
        "actor_kind": actor_kind,
        "actor_name": "Kim Minji",
        "summary": summary,
        "language": "en" if summary else "",
        "settlement_amount": amount,
        "settlement_currency": currency,
        "referred_to": None,
        "at": "2026-11-24T02:00:00+00:00",
    }


def test_the_consumer_accepting_a_settlement_at_home_settles_the_case_here(
    client, kca, node, caseworker
):
    from disputes import services

    ref = "KCA-2026-000042"
    post(client, kca.packet("dispute.forward", forward_body(), dispute=ref))
    dispute = Dispute.objects.get(reference=ref)
    actor = services.Actor.caseworker(caseworker)
    services.accept_forwarded(dispute, actor=actor)
    services.contact_merchant(dispute, actor=actor)
    services.propose_settlement(dispute, actor=actor, proposal="Full refund", language="en")

    response = post(
        client,
        kca.packet(
            "dispute.outcome", outcome_body("accept_settlement", actor_kind="consumer"), dispute=ref
        ),
    )
    assert response.json()["code"] == "applied", response.json()
    dispute.refresh_from_db()
    assert dispute.status == Status.SETTLED
    assert dispute.outcome_summary == "Full refund"
    assert dispute.timeline.filter(to_status="settled", actor="consumer").exists()


def test_only_the_home_agency_speaks_for_the_consumer(client, kca, node, caseworker):
    """KCA is the partner of a BPKN case: it cannot accept a settlement in the consumer's name."""
    from disputes import services
    from tests.factories import file_dispute

    dispute = file_dispute()
    actor = services.Actor.caseworker(caseworker)
    services.start_review(dispute, actor=actor)
    services.forward_dispute(dispute, actor=actor)
    services.accept_forwarded(dispute, actor=services.Actor.agency("KR-KCA"))
    services.contact_merchant(dispute, actor=services.Actor.agency("KR-KCA"))
    services.propose_settlement(
        dispute, actor=services.Actor.agency("KR-KCA"), proposal="Half", language="en"
    )

    response = post(
        client,
        kca.packet(
            "dispute.outcome",
            outcome_body("accept_settlement", actor_kind="consumer"),
            dispute=dispute.reference,
        ),
    )
    assert response.json()["code"] == "domain_rejected"
    dispute.refresh_from_db()
    assert dispute.status == Status.MERCHANT_CONTACTED


def test_the_partner_recording_a_settlement_reaches_home(client, kca, node, caseworker):
    from disputes import services
    from tests.factories import file_dispute

    dispute = file_dispute()
    actor = services.Actor.caseworker(caseworker)
    services.start_review(dispute, actor=actor)
    services.forward_dispute(dispute, actor=actor)
    ref = dispute.reference
    kca.next_seq[ref] = 0
    for body in (
        status_body("accept_forwarded", actor_kind="partner_agency"),
        status_body("contact_merchant", actor_kind="partner_agency", text="Called the shop"),
    ):
        assert post(client, kca.packet("dispute.status", body, dispute=ref)).json()["code"] == (
            "applied"
        )
    body = outcome_body(
        "record_settlement",
        actor_kind="partner_agency",
        summary="Refund of 1,250,000 IDR",
        amount="1250000.00",
        currency="IDR",
    )
    assert post(client, kca.packet("dispute.outcome", body, dispute=ref)).json()["code"] == (
        "applied"
    )
    dispute.refresh_from_db()
    assert dispute.status == Status.SETTLED
    assert dispute.settlement_amount == 1250000
    assert dispute.outcome_summary == "Refund of 1,250,000 IDR"
    # Home's own changes went out; the partner's were not echoed back.
    from relay.models import OutboundPacket

    assert list(OutboundPacket.objects.values_list("type", flat=True)) == ["dispute.forward"]


def test_a_document_and_a_settlement_proposal_arrive_on_the_case(client, kca, node, caseworker):
    from disputes import services
    from tests.factories import file_dispute
    from tests.relay.partner import file_form

    dispute = file_dispute()
    actor = services.Actor.caseworker(caseworker)
    services.start_review(dispute, actor=actor)
    services.forward_dispute(dispute, actor=actor)
    ref = dispute.reference
    for body in (
        status_body("accept_forwarded", actor_kind="partner_agency"),
        status_body("contact_merchant", actor_kind="partner_agency"),
    ):
        post(client, kca.packet("dispute.status", body, dispute=ref))
    letter = b"Dear customer, we will refund you within 14 days.\n"
    document = {
        "file": file_form(letter, name="merchant-reply.txt", uploaded_by="partner_agency")
        | {"content_type": "text/plain"},
        "actor_kind": "merchant",
        "actor_name": "Seoul Gadget Store",
        "note": "The merchant's answer",
        "language": "en",
        "visible_to_consumer": True,
    }
    response = post(client, kca.packet("dispute.document", document, dispute=ref))
    assert response.json()["code"] == "applied", response.json()
    stored = dispute.evidence.get(original_name="merchant-reply.txt")
    assert stored.uploaded_by == "merchant"
    assert stored.content_type == "text/plain"

    proposal = status_body(
        event="settlement_proposed",
        actor_kind="partner_agency",
        text="Full refund within 14 days",
        amount="1250000",
        currency="IDR",
    )
    response = post(client, kca.packet("dispute.status", proposal, dispute=ref))
    assert response.json()["code"] == "applied", response.json()
    dispute.refresh_from_db()
    assert dispute.settlement_proposal == "Full refund within 14 days"
    assert dispute.settlement_amount == 1250000
    assert dispute.status == Status.MERCHANT_CONTACTED
