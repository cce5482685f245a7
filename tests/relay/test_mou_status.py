"""MoU status changes with a reason, told to the partner in-band, and what they do to cases in
flight: suspended, no new forwards but open cases continue; terminated, packets for open cases
accepted until the grace period the administrator set, then refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agencies.models import MoU
from agencies.selectors import onboarding_state
from agencies.services import resume_mou, suspend_mou, terminate_mou
from disputes import services as disputes
from disputes.models import Dispute
from odr.errors import DomainError, IllegalTransition, InvalidInput
from relay.inbox import receive_packet
from relay.models import OutboundPacket
from relay.packets import decode_receipt_claims
from tests.factories import file_dispute
from tests.relay.partner import forward_body, message_body

pytestmark = pytest.mark.django_db
REFERENCE = "MOU-BPKN-KCA-2021"


def send(partner, packet_type, body, **claims):
    status, receipt, code = receive_packet(
        partner.packet(packet_type, body, **claims), content_type="application/jose"
    )
    return status, code, decode_receipt_claims(receipt).get("detail", "")


@pytest.fixture
def open_case(kca):
    """A Korean consumer's case KCA forwarded to BPKN before anything changed."""
    reference = "KCA-2026-000042"
    assert send(kca, "dispute.forward", forward_body(reference), dispute=reference)[1] == "applied"
    return Dispute.objects.get(reference=reference)


def mou() -> MoU:
    return MoU.objects.get(reference=REFERENCE)


def a_new_forward(kca, number: int):
    reference = f"KCA-2026-0001{number:02d}"
    return send(kca, "dispute.forward", forward_body(reference), dispute=reference)


def test_a_change_needs_a_reason_and_is_recorded_with_it(node, kca, caseworker):
    with pytest.raises(InvalidInput) as refused:
        suspend_mou(mou(), by=caseworker, reason="  ")
    assert refused.value.code == "reason_required"
    assert mou().status == MoU.Status.ACTIVE

    suspend_mou(mou(), by=caseworker, reason="Annual audit of the annex")
    change = mou().status_changes.order_by("-changed_at", "-pk").first()
    assert (change.from_status, change.to_status) == ("active", "suspended")
    assert change.note == "Annual audit of the annex" and change.changed_by == caseworker


def test_the_partner_is_told_in_band_with_the_reason(node, kca):
    suspend_mou(mou(), reason="Annual audit of the annex")
    [ping] = OutboundPacket.objects.filter(type="partner.ping", recipient=kca.agency)
    assert ping.body["state"] == "suspended"
    assert ping.body["reason"] == "Annual audit of the annex"
    assert ping.mou_reference == REFERENCE


def test_what_the_partner_tells_us_shows_on_our_mou(node, kca):
    sent_at = timezone.now().isoformat()
    body = {"nonce": "abcdefgh", "sent_at": sent_at, "state": "suspended", "reason": "Audit"}
    assert send(kca, "partner.ping", body)[1] == "applied"
    assert (mou().partner_state, mou().partner_state_reason) == ("suspended", "Audit")
    # An older ping arriving late does not overwrite it.
    older = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    send(kca, "partner.ping", {"nonce": "abcdefgi", "sent_at": older, "state": "active"})
    assert mou().partner_state == "suspended"


def test_suspended_no_new_forwards_but_open_cases_continue(node, kca, open_case, caseworker):
    suspend_mou(mou(), reason="Annual audit of the annex")

    status, code, detail = a_new_forward(kca, 1)
    assert (status, code) == (403, "no_active_mou")
    assert detail == f"MoU {REFERENCE} is suspended at ID-BPKN: Annual audit of the annex"
    message = message_body("Any news from the shop?")
    assert send(kca, "dispute.message", message, dispute=open_case.reference)[1] == "applied"

    # Our side too: the open case's news still goes to KCA; a new case cannot be forwarded.
    actor = disputes.Actor.caseworker(caseworker)
    disputes.post_message(open_case, actor=actor, body="We wrote to the shop.", language="en")
    assert OutboundPacket.objects.filter(
        type="dispute.message", dispute_reference=open_case.reference
    ).exists()
    ours = disputes.start_review(file_dispute(), actor=actor)
    with pytest.raises(DomainError) as refused:
        disputes.forward_dispute(ours, actor=actor)
    assert refused.value.code == "no_active_mou"


def test_resumed_forwards_flow_again(node, kca):
    suspend_mou(mou(), reason="Audit")
    with pytest.raises(IllegalTransition):
        resume_mou(MoU.objects.get(reference="MOU-BPKN-UKICC-DRAFT"), reason="Never active")
    resume_mou(mou(), reason="Audit done")
    assert onboarding_state(mou()) == "active"
    assert a_new_forward(kca, 2)[1] == "applied"


def test_terminated_open_cases_continue_for_the_grace_period_then_stop(node, kca, open_case):
    terminate_mou(mou(), reason="Replaced by the ASEAN network", grace=dt.timedelta(days=30))
    assert mou().packets_accepted_until > timezone.now() + dt.timedelta(days=29)
    status, code, detail = a_new_forward(kca, 3)
    assert (status, code) == (403, "no_active_mou")
    assert "terminated at ID-BPKN: Replaced by the ASEAN network" in detail
    message = message_body("Still waiting.")
    assert send(kca, "dispute.message", message, dispute=open_case.reference)[1] == "applied"

    MoU.objects.filter(pk=mou().pk).update(
        packets_accepted_until=timezone.now() - dt.timedelta(seconds=1)
    )
    late = message_body("Anyone there?")
    status, code, detail = send(kca, "dispute.message", late, dispute=open_case.reference)
    assert (status, code) == (403, "no_active_mou")
    assert "terminated" in detail
    # A ping still gets an answer, which says why.
    ping = {"nonce": "abcdefgh", "sent_at": timezone.now().isoformat()}
    status, code, detail = send(kca, "partner.ping", ping)
    assert code == "applied"
    assert detail == f"MoU {REFERENCE} is terminated here: Replaced by the ASEAN network"


def test_terminated_without_grace_refuses_at_once(node, kca, open_case):
    terminate_mou(mou(), reason="Breach of the data annex")
    status, code, _detail = send(
        kca, "dispute.message", message_body("Hello?"), dispute=open_case.reference
    )
    assert (status, code) == (403, "no_active_mou")


def test_a_negative_grace_is_refused(node, kca):
    with pytest.raises(InvalidInput):
        terminate_mou(mou(), reason="x", grace=dt.timedelta(days=-1))
    assert mou().status == MoU.Status.ACTIVE


def test_a_case_under_another_mou_does_not_ride_on_a_suspended_one(node, kca, open_case):
    suspend_mou(mou(), reason="Audit")
    status, code, _detail = send(
        kca,
        "dispute.message",
        message_body("Hi"),
        dispute="KCA-2026-009999",
    )
    assert (status, code) == (403, "no_active_mou")
