"""relay_resend: after a partner restored a backup, what it acknowledged since is sent again."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from disputes import services as disputes
from relay.delivery import deliver
from relay.models import OutboundPacket
from relay.outbox import resend_acknowledged
from tests.factories import file_dispute
from tests.relay.partner import PartnerServer, our_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(node, kca, caseworker):
    """A forward to KCA, acknowledged by KCA's inbox."""
    dispute = file_dispute()
    actor = disputes.Actor.caseworker(caseworker)
    disputes.start_review(dispute, actor=actor)
    disputes.forward_dispute(dispute, actor=actor)
    packet = OutboundPacket.objects.get(dispute=dispute, type="dispute.forward")
    with PartnerServer(kca, our_key("sig").public_jwk) as partner:
        kca.agency.inbox_url = partner.url
        kca.agency.save(update_fields=["inbox_url"])
        assert deliver(packet.pk) == "acknowledged"
    packet.refresh_from_db()
    return packet


def test_packets_acknowledged_since_the_time_go_again_with_the_same_id_and_bytes(delivered, kca):
    sealed, pid = delivered.sealed, delivered.pid
    since = delivered.receipt_at - dt.timedelta(minutes=1)
    assert resend_acknowledged(kca.agency, since) == (1, [])
    delivered.refresh_from_db()
    assert delivered.state == OutboundPacket.State.QUEUED
    with PartnerServer(kca, our_key("sig").public_jwk) as partner:
        kca.agency.inbox_url = partner.url
        kca.agency.save(update_fields=["inbox_url"])
        assert deliver(delivered.pk) == "acknowledged"
    [claims] = partner.received
    assert claims["pid"] == pid
    delivered.refresh_from_db()
    assert delivered.sealed == sealed  # the same bytes: a partner that has it answers as before


def test_packets_acknowledged_before_the_time_or_expired_are_not_sent(delivered, kca):
    later = delivered.receipt_at + dt.timedelta(seconds=1)
    assert resend_acknowledged(kca.agency, later) == (0, [])
    since = delivered.receipt_at - dt.timedelta(minutes=1)
    after_expiry = delivered.expires_at + dt.timedelta(seconds=1)
    assert resend_acknowledged(kca.agency, since, now=after_expiry) == (0, [delivered.pid])
    delivered.refresh_from_db()
    assert delivered.state == OutboundPacket.State.ACKNOWLEDGED


def test_the_command_needs_a_time_with_its_zone_and_a_known_agency(delivered):
    with pytest.raises(CommandError, match="bad_time"):
        call_command("relay_resend", "KR-KCA", "--since", "2026-12-06 10:00")
    with pytest.raises(CommandError, match="not_found"):
        call_command("relay_resend", "XX-NONE", "--since", "2026-12-06T10:00:00+00:00")
    out = StringIO()
    since = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    call_command("relay_resend", "KR-KCA", "--since", since, stdout=out)
    assert out.getvalue() == "1 packets queued again for KR-KCA\n"
