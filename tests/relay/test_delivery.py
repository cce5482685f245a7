"""Delivery from the outbox: receipts, retries with backoff, deadlines, dead letters, by hand.

Times are explicit (``now=``); the partner is a real HTTP server on loopback.
"""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.utils import timezone

from disputes import services as disputes
from relay import packets
from relay.delivery import backoff_seconds, deliver, due_packet_ids
from relay.models import OutboundPacket
from relay.outbox import retry_packet
from relay.selectors import packets_for_dispute
from tests.factories import file_dispute
from tests.relay.partner import PDF, PartnerServer, our_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def packet(node, kca, caseworker):
    """The dispute.forward of a BPKN case to KCA, waiting in the outbox."""
    dispute = file_dispute(evidence=[("receipt.pdf", PDF)])
    actor = disputes.Actor.caseworker(caseworker)
    disputes.start_review(dispute, actor=actor)
    disputes.forward_dispute(dispute, actor=actor)
    return OutboundPacket.objects.get(type="dispute.forward")


def partner_at(kca, **options):
    return PartnerServer(kca, our_key("sig").public_jwk, **options)


def point_to(agency, url):
    agency.inbox_url = url
    agency.save(update_fields=["inbox_url"])


def test_a_delivered_packet_is_acknowledged_with_the_partners_signed_receipt(packet, kca):
    with partner_at(kca) as partner:
        point_to(kca.agency, partner.url)
        assert deliver(packet.pk) == "acknowledged"

    [claims] = partner.received
    assert claims["pid"] == packet.pid
    assert (claims["iss"], claims["aud"]) == ("ID-BPKN", "KR-KCA")
    assert (claims["type"], claims["seq"]) == ("dispute.forward", 1)
    assert claims["dispute"] == packet.dispute_reference
    assert claims["mou"] == "MOU-BPKN-KCA-2021"
    assert claims["exp"] > claims["iat"]
    assert base64.b64decode(claims["body"]["evidence"][0]["content_base64"]) == PDF
    packet.refresh_from_db()
    assert packet.state == "acknowledged"
    assert (packet.receipt_status, packet.receipt_code) == ("accepted", "applied")
    # Receipt and packet together prove who sent what: the receipt names these exact bytes.
    receipt = packets.read_receipt(packet.receipt, {kca.sig.kid: kca.sig.as_dict(private=False)})
    assert receipt["sha256"] == packets.sha256_hex(partner.raw[0]) == packet.sealed_sha256
    [view] = packets_for_dispute(packet.dispute)
    assert (view.direction, view.state, view.code) == ("outbound", "acknowledged", "applied")


def test_a_refusal_is_final_and_shown_with_its_code(packet, kca):
    with partner_at(kca, answer=lambda claims: (403, "refused", "out_of_scope")) as partner:
        point_to(kca.agency, partner.url)
        assert deliver(packet.pk) == "refused"
    packet.refresh_from_db()
    assert (packet.state, packet.receipt_code, packet.next_attempt_at) == (
        "refused",
        "out_of_scope",
        None,
    )
    assert due_packet_ids(timezone.now() + dt.timedelta(days=30)) == []


def test_a_failed_attempt_is_retried_after_a_backoff_and_the_same_bytes_are_sent(packet, kca):
    now = timezone.now()
    answers = iter([None, (200, "accepted", "applied")])
    with partner_at(kca, answer=lambda claims: next(answers)) as partner:
        point_to(kca.agency, partner.url)
        assert deliver(packet.pk, now=now) == "sent"
        packet.refresh_from_db()
        assert packet.attempts == 1
        assert "HTTP 500" in packet.last_error
        wait = (packet.next_attempt_at - now).total_seconds()
        assert 2.5 <= wait <= 5  # base 5 s, equal jitter
        # Not due yet: a second worker (or the sweep) does nothing.
        assert deliver(packet.pk, now=now + dt.timedelta(seconds=1)) is None
        assert packet.pk not in due_packet_ids(now + dt.timedelta(seconds=1))
        later = packet.next_attempt_at
        assert packet.pk in due_packet_ids(later)
        assert deliver(packet.pk, now=later) == "acknowledged"
    assert partner.raw[0] == partner.raw[1]


def test_backoff_doubles_with_jitter_up_to_the_maximum(settings):
    settings.ODR_RELAY_BACKOFF_BASE_SECONDS = 5
    settings.ODR_RELAY_BACKOFF_MAX_SECONDS = 900
    assert [backoff_seconds(n, rand=1.0) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert [backoff_seconds(n, rand=0.0) for n in (1, 2, 3, 4)] == [2.5, 5, 10, 20]
    assert backoff_seconds(30, rand=1.0) == 900
    assert backoff_seconds(30, rand=0.0) == 450


def test_a_partner_that_never_answers_dead_letters_the_packet_at_the_mou_deadline(
    packet, kca, settings
):
    settings.ODR_RELAY_BACKOFF_MAX_SECONDS = 6 * 3600  # fewer attempts to walk through
    point_to(kca.agency, "http://127.0.0.1:9/relay/inbox/")  # nothing listens on port 9
    start = packet.created_at
    deadline = start + dt.timedelta(hours=72)
    assert packet.deadline_at == deadline  # MoU.relay_deadline_hours of MOU-BPKN-KCA-2021

    now, attempts = start, 0
    while (state := deliver(packet.pk, now=now)) == "sent":
        attempts += 1
        packet.refresh_from_db()
        assert packet.next_attempt_at <= deadline
        now = packet.next_attempt_at
    assert state == "dead"
    packet.refresh_from_db()
    assert packet.state == "dead"
    assert now >= deadline
    assert 15 < packet.attempts < 60
    assert packet.attempts == attempts + 1
    assert "ConnectError" in packet.last_error
    assert "deadline" in packet.last_error
    assert due_packet_ids(now + dt.timedelta(days=365)) == []
    [view] = packets_for_dispute(packet.dispute)
    assert view.state == "dead"
    assert "ConnectError" in view.last_error


def test_a_dead_letter_retried_by_hand_is_delivered_with_its_id_and_sequence(packet, kca):
    point_to(kca.agency, "http://127.0.0.1:9/relay/inbox/")
    now = packet.deadline_at + dt.timedelta(seconds=1)
    deliver(packet.pk, now=packet.created_at)
    assert deliver(packet.pk, now=now) == "dead"

    later = now + dt.timedelta(days=2)
    retried = retry_packet(packet, now=later)
    assert retried.state == "queued"
    assert retried.deadline_at == later + dt.timedelta(hours=72)
    with partner_at(kca) as partner:
        point_to(kca.agency, partner.url)
        assert deliver(packet.pk, now=later) == "acknowledged"
    [claims] = partner.received
    assert (claims["pid"], claims["seq"]) == (packet.pid, 1)
    # Sealed afresh, so it does not arrive expired.
    assert claims["iat"] == int(later.timestamp())


def test_a_receipt_that_does_not_verify_is_not_taken_as_delivery(packet, kca):
    from tests.relay.partner import Partner

    impostor = Partner("KR-KCA", pin=False)  # right agency name, key nobody pinned
    with partner_at(kca) as partner:
        partner.partner = impostor
        partner.partner.enc = kca.enc  # can read the packet, cannot sign for KCA
        point_to(kca.agency, partner.url)
        assert deliver(packet.pk) == "sent"
    packet.refresh_from_db()
    assert packet.state == "sent"
    assert "invalid receipt" in packet.last_error
    assert packet.receipt == ""


def test_a_receipt_for_other_bytes_is_not_taken_as_delivery(packet, kca):
    with partner_at(kca) as partner:
        original = partner.partner.receipt
        partner.partner.receipt = lambda **kw: original(**{**kw, "sealed": "other bytes"})
        point_to(kca.agency, partner.url)
        assert deliver(packet.pk) == "sent"
    packet.refresh_from_db()
    assert "sha256 differs" in packet.last_error


def test_a_retryable_refusal_is_retried(packet, kca):
    with partner_at(kca, answer=lambda claims: (401, "refused", "unknown_key")) as partner:
        point_to(kca.agency, partner.url)
        assert deliver(packet.pk) == "sent"
    packet.refresh_from_db()
    assert packet.receipt_code == "unknown_key"
    assert packet.next_attempt_at is not None


def test_a_packet_over_the_size_limit_is_dead_lettered_without_sending(packet, kca, settings):
    settings.ODR_MAX_PACKET_BYTES = 2000
    with partner_at(kca) as partner:
        point_to(kca.agency, partner.url)
        assert deliver(packet.pk) == "dead"
    assert partner.received == []
    packet.refresh_from_db()
    assert "packet_too_large" in packet.last_error


def test_without_a_pinned_partner_key_the_packet_waits_and_says_why(packet, kca):
    kca.agency.keys.filter(use="enc").delete()
    assert deliver(packet.pk) == "sent"
    packet.refresh_from_db()
    assert "no valid encryption key pinned for KR-KCA" in packet.last_error
    assert packet.sealed == ""


def test_plain_http_is_refused_unless_allowed(packet, kca, settings):
    settings.ODR_RELAY_ALLOW_HTTP = False
    with partner_at(kca) as partner:
        point_to(kca.agency, partner.url)
        assert deliver(packet.pk) == "sent"
    assert partner.received == []
    packet.refresh_from_db()
    assert "plain http is not allowed" in packet.last_error


# --- several packets due to one partner: batches (protocol 5.1) --------------------------------


def pings(count: int) -> list[OutboundPacket]:
    from relay.partners import send_ping

    return [send_ping("KR-KCA") for _ in range(count)]


def test_packets_due_to_a_partner_go_in_one_request_each_with_its_own_receipt(node, kca):
    from relay.delivery import deliver_due

    queued = pings(3)
    with partner_at(kca) as partner:
        point_to(kca.agency, partner.url)
        assert deliver_due(kca.agency.pk) == 3
        assert deliver_due(kca.agency.pk) == 0  # nothing is due any more

    assert partner.batch_sizes == [3]
    assert [claims["pid"] for claims in partner.received] == [p.pid for p in queued]
    for sent, raw in zip(queued, partner.raw, strict=True):
        sent.refresh_from_db()
        assert sent.state == "acknowledged"
        assert sent.attempts == 1
        receipt = packets.read_receipt(sent.receipt, {kca.sig.kid: kca.sig.as_dict(private=False)})
        assert receipt["pid"] == sent.pid
        assert receipt["sha256"] == packets.sha256_hex(raw) == sent.sealed_sha256


def test_a_batch_is_split_at_the_batch_limit(node, kca, settings):
    from relay.delivery import deliver_due

    settings.ODR_RELAY_BATCH_MAX = 2
    pings(3)
    with partner_at(kca) as partner:
        point_to(kca.agency, partner.url)
        assert deliver_due(kca.agency.pk) == 2
        assert deliver_due(kca.agency.pk) == 1
    # The last one is alone: it goes as a single packet, not a batch of one.
    assert partner.batch_sizes == [2]
    assert len(partner.received) == 3
    assert set(OutboundPacket.objects.values_list("state", flat=True)) == {"acknowledged"}


def test_a_partner_that_takes_no_batches_gets_the_packets_one_by_one(node, kca):
    from relay.delivery import deliver_due

    queued = pings(3)
    with partner_at(kca, batches=False) as partner:
        point_to(kca.agency, partner.url)
        assert deliver_due(kca.agency.pk) == 3

    assert partner.batch_sizes == []
    assert [claims["pid"] for claims in partner.received] == [p.pid for p in queued]
    assert set(OutboundPacket.objects.values_list("state", flat=True)) == {"acknowledged"}


def test_each_packet_of_a_batch_gets_the_answer_meant_for_it(node, kca):
    from relay.delivery import deliver_due

    first, second = pings(2)

    def answer(claims):
        if claims["pid"] == first.pid:
            return 409, "refused", "sequence_conflict"
        return None  # no receipt for the second: a failed attempt

    with partner_at(kca, answer=answer) as partner:
        point_to(kca.agency, partner.url)
        deliver_due(kca.agency.pk)

    assert partner.batch_sizes == [2]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.receipt_code) == ("refused", "sequence_conflict")
    assert second.state == "sent"
    assert "without a receipt" in second.last_error
    assert second.next_attempt_at > timezone.now()


def test_a_batch_that_cannot_be_handed_over_reschedules_every_packet_in_it(node, kca):
    from relay.delivery import deliver_due

    queued = pings(2)
    with partner_at(kca) as partner:
        url = partner.url
    point_to(kca.agency, url)  # the server is gone: connection refused

    assert deliver_due(kca.agency.pk) == 2
    for packet in queued:
        packet.refresh_from_db()
        assert packet.state == "sent"
        assert packet.attempts == 1
        assert packet.last_error
        assert packet.next_attempt_at > timezone.now()
    assert deliver_due(kca.agency.pk) == 0  # not due again before its backoff


def test_a_waiting_answer_is_not_final_the_packet_is_sent_again_until_it_is(packet, kca):
    answers = iter([(202, "accepted", "waiting"), (200, "accepted", "applied")])
    now = timezone.now()
    with partner_at(kca, answer=lambda claims: next(answers)) as partner:
        point_to(kca.agency, partner.url)
        assert deliver(packet.pk, now=now) == "sent"
        packet.refresh_from_db()
        assert packet.receipt_code == "waiting"
        assert "waiting at the partner" in packet.last_error
        assert packet.next_attempt_at > now

        assert deliver(packet.pk, now=packet.next_attempt_at) == "acknowledged"

    assert partner.raw[0] == partner.raw[1]  # the same bytes, so the receipt covers them
    packet.refresh_from_db()
    assert (packet.state, packet.receipt_code) == ("acknowledged", "applied")


def test_one_delivery_loop_per_partner_at_a_time_so_packets_leave_in_order(node, kca):
    from django.core.cache import cache

    from relay import tasks

    pings(2)
    with partner_at(kca) as partner:
        point_to(kca.agency, partner.url)
        assert tasks._start_delivering(kca.agency.pk)  # another task is delivering
        try:
            assert tasks.deliver_to_partner(kca.agency.pk) == 0
        finally:
            tasks._stop_delivering(kca.agency.pk)
        assert partner.received == []

        assert tasks.deliver_to_partner(kca.agency.pk) == 2
    assert partner.batch_sizes == [2]
    assert cache.get(tasks._delivering(kca.agency.pk, 0)) is None  # free for the next one


def test_a_disputes_packets_share_a_lane_and_each_lane_is_delivered_by_its_own_loop(
    node, kca, caseworker, settings
):
    from relay import tasks
    from relay.outbox import delivery_lane

    settings.ODR_RELAY_LANES = 2
    actor = disputes.Actor.caseworker(caseworker)
    cases = []
    while len({delivery_lane(d.reference) for d in cases}) < 2:
        dispute = file_dispute()
        disputes.start_review(dispute, actor=actor)
        disputes.forward_dispute(dispute, actor=actor)
        disputes.post_message(dispute, actor=actor, body="Any news?", language="en")
        cases.append(dispute)
    for dispute in cases:
        lanes = set(OutboundPacket.objects.filter(dispute=dispute).values_list("lane", flat=True))
        assert lanes == {delivery_lane(dispute.reference)}

    lane = delivery_lane(cases[0].reference)
    with partner_at(kca) as partner:
        point_to(kca.agency, partner.url)
        tasks.deliver_to_partner(kca.agency.pk, lane)
    in_lane = [d.reference for d in cases if delivery_lane(d.reference) == lane]
    assert {claims["dispute"] for claims in partner.received} == set(in_lane)
    # In each dispute, in the order written: the forward, then the message.
    for reference in in_lane:
        assert [c["seq"] for c in partner.received if c["dispute"] == reference] == [1, 2]
    other = OutboundPacket.objects.exclude(lane=lane)
    assert set(other.values_list("state", flat=True)) == {"queued"}
