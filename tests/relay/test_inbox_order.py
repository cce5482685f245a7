"""Packets of a dispute are applied in their sequence order, whatever order they arrive in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from disputes.models import Dispute, Status
from relay.models import InboundPacket
from relay.placement import apply_waiting_packets
from tests.relay.partner import forward_body, message_body, status_body

pytestmark = pytest.mark.django_db

REF = "KCA-2026-000042"


def post(client, sealed: bytes):
    return client.post(reverse("relay:inbox"), sealed, content_type="application/jose")


def test_packets_that_arrive_early_wait_then_apply_in_order(client, kca, caseworker):
    from disputes.services import Actor

    forward = kca.packet("dispute.forward", forward_body(), dispute=REF, seq=1)
    message = kca.packet("dispute.message", message_body("Second"), dispute=REF, seq=2)
    withdraw = kca.packet("dispute.status", status_body("withdraw", text="x"), dispute=REF, seq=3)

    third = post(client, withdraw)
    second = post(client, message)
    assert (third.status_code, third.json()["code"]) == (202, "waiting")
    assert (second.status_code, second.json()["code"]) == (202, "waiting")
    assert third.json()["status"] == "accepted"
    # Nothing is applied early, not even by the periodic release.
    apply_waiting_packets()
    assert not Dispute.objects.filter(reference=REF).exists()
    assert InboundPacket.objects.filter(state="waiting").count() == 2

    first = post(client, forward)
    assert first.json()["code"] == "applied"
    dispute = Dispute.objects.get(reference=REF)
    assert dispute.status == Status.WITHDRAWN
    assert dispute.messages.filter(body="Second").exists()
    states = dict(InboundPacket.objects.values_list("seq", "state"))
    assert states == {1: "applied", 2: "applied", 3: "applied"}
    applied_order = list(
        InboundPacket.objects.order_by("applied_at", "seq").values_list("seq", flat=True)
    )
    assert applied_order == [1, 2, 3]
    _ = caseworker, Actor


def test_a_waiting_packet_sent_again_is_answered_with_its_latest_receipt(client, kca):
    from relay import packets
    from tests.relay.partner import our_key

    key = our_key("sig")
    early = kca.packet("dispute.message", message_body("Early"), dispute=REF, seq=2)
    first = post(client, early)
    assert post(client, early).json()["receipt"] == first.json()["receipt"]  # still waiting

    post(client, kca.packet("dispute.forward", forward_body(), dispute=REF, seq=1))
    again = post(client, early)

    # The same packet now gets its final answer, signed over the same bytes.
    assert (again.status_code, again.json()["code"]) == (200, "applied")
    final = packets.read_receipt(again.json()["receipt"], {key.kid: key.public_jwk})
    assert final["sha256"] == packets.sha256_hex(early)
    assert final["pid"] == first.json()["pid"]
    assert Dispute.objects.get(reference=REF).messages.filter(body="Early").count() == 1


def test_a_waiting_packet_the_case_refuses_later_says_so_when_sent_again(client, kca):
    # seq 2 arrives first; once seq 1 is in, the lifecycle refuses it (the home agency cannot
    # accept its own forward): its sender must learn that, not keep the "waiting" answer.
    early = kca.packet("dispute.status", status_body("accept_forwarded"), dispute=REF, seq=2)
    assert post(client, early).json()["code"] == "waiting"
    post(client, kca.packet("dispute.forward", forward_body(), dispute=REF, seq=1))

    again = post(client, early)

    assert (again.status_code, again.json()["status"]) == (409, "refused")
    assert again.json()["code"] == "domain_rejected"
    assert InboundPacket.objects.get(seq=2).state == "refused"


def test_a_refused_packet_does_not_block_the_ones_after_it(client, kca):
    post(client, kca.packet("dispute.forward", forward_body(), dispute=REF, seq=1))
    # seq 2 is refused by the lifecycle (the home agency cannot accept its own forward) ...
    refused = post(
        client, kca.packet("dispute.status", status_body("accept_forwarded"), dispute=REF, seq=2)
    )
    assert refused.json()["code"] == "domain_rejected"
    # ... and seq 3 still applies: the sender will never send another seq 2.
    later = post(client, kca.packet("dispute.message", message_body("Third"), dispute=REF, seq=3))
    assert later.json()["code"] == "applied"


def test_the_periodic_release_applies_what_an_interrupted_arrival_left_waiting(client, kca):
    post(client, kca.packet("dispute.message", message_body("Waiting"), dispute=REF, seq=2))
    post(client, kca.packet("dispute.forward", forward_body(), dispute=REF, seq=1))
    # Simulate a crash between applying seq 1 and releasing seq 2: put seq 2 back to waiting.
    packet = InboundPacket.objects.get(seq=2)
    dispute = Dispute.objects.get(reference=REF)
    dispute.messages.filter(body="Waiting").delete()
    InboundPacket.objects.filter(pk=packet.pk).update(state="waiting", code="waiting")
    from relay.models import InboundStream

    InboundStream.objects.filter(dispute_reference=REF).update(last_seq=1)

    assert apply_waiting_packets() == 1
    assert dispute.messages.filter(body="Waiting").exists()
    assert InboundPacket.objects.get(seq=2).state == "applied"


def test_a_message_the_case_refuses_leaves_nothing_but_its_refusal(client, kca):
    # Most messages are applied without a savepoint of their own: a refusal takes the whole
    # packet back and places it again, so only the refused inbox row remains.
    post(client, kca.packet("dispute.forward", forward_body(), dispute=REF, seq=1))
    dispute = Dispute.objects.get(reference=REF)
    events = dispute.timeline.count()

    blank = post(client, kca.packet("dispute.message", message_body("   "), dispute=REF, seq=2))

    assert (blank.status_code, blank.json()["code"]) == (409, "domain_rejected")
    assert "required" in blank.json()["detail"]
    assert InboundPacket.objects.get(seq=2).state == "refused"
    assert dispute.messages.count() == 1 and dispute.timeline.count() == events
    later = post(client, kca.packet("dispute.message", message_body("Third"), dispute=REF, seq=3))
    assert later.json()["code"] == "applied"


def test_a_message_already_here_is_accepted_and_kept_once(client, kca):
    # The forward carried this message (a re-forward, say); its own packet comes after.
    body = forward_body()
    known = body["messages"][0]
    post(client, kca.packet("dispute.forward", body, dispute=REF, seq=1))

    again = post(client, kca.packet("dispute.message", known, dispute=REF, seq=2))

    assert (again.status_code, again.json()["code"]) == (200, "applied")
    assert InboundPacket.objects.get(seq=2).state == "applied"
    assert Dispute.objects.get(reference=REF).messages.filter(uid=known["uid"]).count() == 1


def test_a_forward_the_case_refuses_leaves_no_dispute_behind(client, kca):
    # A forward is applied without a savepoint too: its refusal takes back the dispute it
    # had begun to create, and only the refused inbox row remains.
    body = forward_body()
    body["reference"] = "KCA-2026-000999"  # not the dispute the claims name

    refused = post(client, kca.packet("dispute.forward", body, dispute=REF, seq=1))

    assert (refused.status_code, refused.json()["code"]) == (409, "domain_rejected")
    assert "reference_mismatch" in refused.json()["detail"]
    assert not Dispute.objects.exists()
    assert InboundPacket.objects.get(seq=1).state == "refused"
