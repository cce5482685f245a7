"""The outbox: a shared change and its packet are written together, or not at all."""

from __future__ import annotations

import pytest
from django.db import transaction

from disputes import services
from disputes.models import Message
from relay.models import OutboundPacket
from tests.factories import file_dispute
from tests.relay.partner import PDF

pytestmark = pytest.mark.django_db


@pytest.fixture
def forwarded(node, kca, caseworker):
    """A BPKN case forwarded to KCA, and the caseworker who did it."""
    dispute = file_dispute(evidence=[("receipt.pdf", PDF)])
    actor = services.Actor.caseworker(caseworker)
    services.start_review(dispute, actor=actor)
    services.forward_dispute(dispute, actor=actor)
    dispute.refresh_from_db()
    return dispute, actor


def test_nothing_is_sent_before_a_case_is_forwarded(node, caseworker):
    dispute = file_dispute()
    services.start_review(dispute, actor=services.Actor.caseworker(caseworker))
    services.post_message(dispute, actor=services.Actor.consumer("Dewi"), body="Hi", language="id")

    assert OutboundPacket.objects.count() == 0


def test_forwarding_writes_the_whole_case_as_the_first_packet_to_the_partner(forwarded, kca):
    dispute, _actor = forwarded

    packet = OutboundPacket.objects.get()
    assert packet.type == "dispute.forward"
    assert packet.recipient.code == "KR-KCA"
    assert packet.mou_reference == "MOU-BPKN-KCA-2021"
    assert (packet.dispute_reference, packet.seq) == (dispute.reference, 1)
    assert packet.state == "queued"
    body = packet.body
    assert body["reference"] == dispute.reference
    assert body["category"] == "electronics"
    assert body["problem_types"] == ["non_delivery"]
    assert body["evidence"][0]["size"] == len(PDF)
    # Only what the partner needs: no consumer email or phone.
    assert set(body["consumer"]) == {"name", "country", "language"}
    assert "dewi@example.id" not in str(body)


def test_each_later_change_gets_the_next_sequence_number_and_its_own_type(forwarded, kca):
    dispute, actor = forwarded
    services.post_message(
        dispute, actor=services.Actor.consumer("Dewi"), body="Any news?", language="id"
    )
    services.add_document(
        dispute, actor=actor, name="letter.txt", content=b"Dear merchant", note="Letter"
    )
    services.withdraw_dispute(dispute, actor=actor, reason="Refunded by the bank")

    sent = list(OutboundPacket.objects.order_by("seq").values_list("seq", "type"))
    assert sent == [
        (1, "dispute.forward"),
        (2, "dispute.message"),
        (3, "dispute.document"),
        (4, "dispute.status"),
    ]
    message = OutboundPacket.objects.get(seq=2).body
    assert message["uid"] == Message.objects.get(body="Any news?").uid
    assert message["author_kind"] == "consumer"
    status = OutboundPacket.objects.get(seq=4).body
    assert (status["transition"], status["to_status"]) == ("withdraw", "withdrawn")


def test_a_rolled_back_change_leaves_no_packet(forwarded, kca):
    dispute, actor = forwarded
    before = OutboundPacket.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        services.post_message(dispute, actor=actor, body="Never sent", language="en")
        assert OutboundPacket.objects.count() == before + 1  # written inside the transaction
        raise RuntimeError("the request failed after the change")

    assert OutboundPacket.objects.count() == before
    assert not Message.objects.filter(body="Never sent").exists()


def test_delivery_is_queued_only_after_commit(forwarded, kca, django_capture_on_commit_callbacks):
    dispute, actor = forwarded
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            services.post_message(dispute, actor=actor, body="After commit", language="en")
        # Registered to run on commit, not run inside the transaction.
        assert callbacks == []
    relay_callbacks = [c for c in callbacks if c.__module__ == "relay.tasks"]
    assert len(relay_callbacks) == 1


def test_a_change_applied_from_the_partner_is_not_echoed_back(forwarded, kca):
    dispute, _actor = forwarded
    before = OutboundPacket.objects.count()

    services.accept_forwarded(dispute, actor=services.Actor.agency("KR-KCA"))
    services.post_message(
        dispute, actor=services.Actor.agency("KR-KCA"), body="From KCA", language="en"
    )

    assert OutboundPacket.objects.count() == before
