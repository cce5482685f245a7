"""What operators use: the admin's dead-letter view and retry action, the periodic sweep, the
relay log, and the ping."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from disputes import services as disputes
from odr.celery import app as celery_app
from odr.errors import DomainError
from relay import tasks
from relay.delivery import deliver
from relay.models import OutboundPacket
from relay.partners import send_ping
from tests.factories import file_dispute
from tests.relay.partner import PartnerServer, our_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_packet(node, kca, caseworker):
    dispute = file_dispute()
    actor = disputes.Actor.caseworker(caseworker)
    disputes.start_review(dispute, actor=actor)
    disputes.forward_dispute(dispute, actor=actor)
    packet = OutboundPacket.objects.get()
    kca.agency.inbox_url = "http://127.0.0.1:9/relay/inbox/"
    kca.agency.save()
    deliver(packet.pk, now=packet.created_at)
    assert deliver(packet.pk, now=packet.deadline_at) == "dead"
    packet.refresh_from_db()
    return packet


@pytest.fixture
def staff_client(client):
    admin = User.objects.create_superuser("admin", "admin@example.org", "a-long-password-1")
    client.force_login(admin)
    return client


def test_staff_see_dead_letters_with_their_last_error(staff_client, dead_packet):
    url = reverse("admin:relay_outboundpacket_changelist")
    response = staff_client.get(url, {"state__exact": "dead"})
    assert response.status_code == 200
    page = response.content.decode()
    assert dead_packet.pid in page
    assert "ConnectError" in page
    detail = staff_client.get(reverse("admin:relay_outboundpacket_change", args=[dead_packet.pk]))
    assert "deadline passed" in detail.content.decode()


def test_staff_retry_a_dead_letter_from_the_admin(staff_client, dead_packet, kca):
    url = reverse("admin:relay_outboundpacket_changelist")
    response = staff_client.post(
        url,
        {"action": "retry_packets", "_selected_action": [dead_packet.pk]},
        follow=True,
    )
    assert "1 packet queued again." in response.content.decode()
    dead_packet.refresh_from_db()
    assert dead_packet.state == "queued"
    with PartnerServer(kca, our_key("sig").public_jwk) as partner:
        kca.agency.inbox_url = partner.url
        kca.agency.save()
        assert deliver(dead_packet.pk) == "acknowledged"


def test_a_packet_still_in_flight_cannot_be_retried_by_hand(node, kca, caseworker):
    from relay.outbox import retry_packet

    packet = send_ping("KR-KCA")
    with pytest.raises(DomainError):
        retry_packet(packet)


def test_the_sweep_delivers_a_packet_whose_task_was_lost(node, kca):
    packet = send_ping("KR-KCA")  # its on-commit task never ran in this test transaction
    with PartnerServer(kca, our_key("sig").public_jwk) as partner:
        kca.agency.inbox_url = partner.url
        kca.agency.save()
        celery_app.conf.task_always_eager = True
        try:
            assert tasks.sweep_outbox() == 1
        finally:
            celery_app.conf.task_always_eager = False
    packet.refresh_from_db()
    assert packet.state == "acknowledged"
    assert partner.received[0]["type"] == "partner.ping"
    assert partner.received[0]["dispute"] is None and partner.received[0]["seq"] is None


def test_a_ping_needs_a_confirmed_partner(node, ukicc):
    # UK ICC is still prospective in the seed: its keys were never confirmed.
    with pytest.raises(DomainError) as error:
        send_ping("GB-UKICC")
    assert error.value.code == "partner_not_confirmed"


def test_the_relay_log_lists_packets_one_json_object_per_line(node, kca, capsys, client):
    packet = send_ping("KR-KCA")
    client.post(
        reverse("relay:inbox"),
        kca.packet("partner.ping", {"nonce": "abcdefgh", "sent_at": timezone.now().isoformat()}),
        content_type="application/jose",
    )
    client.post(reverse("relay:inbox"), b"not a packet", content_type="application/jose")
    call_command("relay_log", "--json")
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    out = [row for row in rows if row["direction"] == "out"]
    inbound = [row for row in rows if row["direction"] == "in"]
    assert out[0]["pid"] == packet.pid
    assert (out[0]["type"], out[0]["state"], out[0]["agency"]) == (
        "partner.ping",
        "queued",
        "KR-KCA",
    )
    assert {(row["state"], row["receipt_code"]) for row in inbound} == {
        ("applied", "applied"),
        ("refused", "malformed"),
    }
    call_command("relay_log", "--json", "--since-id", str(packet.pk))
    later = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(row["direction"] == "in" or row["id"] > packet.pk for row in later)
    call_command("relay_log")
    assert packet.pid in capsys.readouterr().out


def test_staff_who_may_only_view_cannot_retry(client, dead_packet):
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("viewer", password="a-long-password-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboundpacket"))
    client.force_login(viewer)
    url = reverse("admin:relay_outboundpacket_changelist")
    assert client.get(url).status_code == 200
    client.post(url, {"action": "retry_packets", "_selected_action": [dead_packet.pk]})
    dead_packet.refresh_from_db()
    assert dead_packet.state == "dead"
