"""Keys over their life with packets in flight: a rotation's overlap, a revocation from the
admin with a reason, and the scheduled warning before a key expires."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from agencies import roles
from agencies.models import AgencyKey
from disputes import services as disputes
from disputes.models import Dispute
from relay.delivery import deliver
from relay.expiry import warn_expiring_keys
from relay.inbox import receive_packet
from relay.models import InboundPacket, OutboundPacket
from relay.packets import decode_receipt_claims
from tests.accounts.conftest import make_staff, verified_login
from tests.factories import file_dispute
from tests.relay.partner import Partner, PartnerServer, forward_body, message_body, our_key

pytestmark = pytest.mark.django_db


def receive(sealed: bytes) -> tuple[int, str]:
    status, _receipt, code = receive_packet(sealed, content_type="application/jose")
    return status, code


def rotate_partner(kca, *, retire_in: dt.timedelta) -> Partner:
    """KCA rotates: its partner.keys packet, signed with its old key, is applied here."""
    new = Partner("KR-KCA", pin=False)
    new.enc = kca.enc
    body = {
        "keys": [
            {**new.sig.as_dict(private=False), "use": "sig"},
            {**new.enc.as_dict(private=False), "use": "enc"},
        ],
        "retire": [{"kid": kca.sig.kid, "not_after": (timezone.now() + retire_in).isoformat()}],
    }
    assert receive(kca.packet("partner.keys", body)) == (200, "applied")
    new.next_seq = kca.next_seq
    return new


# --- rotation ---------------------------------------------------------------------------------


def test_our_packet_sealed_before_a_rotation_is_delivered_during_the_overlap(node, kca, caseworker):
    actor = disputes.Actor.caseworker(caseworker)
    dispute = disputes.start_review(file_dispute(), actor=actor)
    disputes.forward_dispute(dispute, actor=actor)
    packet = OutboundPacket.objects.get(type="dispute.forward")
    old_sig = our_key("sig")
    with PartnerServer(kca, old_sig.public_jwk, answer=lambda claims: None) as down:
        kca.agency.inbox_url = down.url
        kca.agency.save()
        assert deliver(packet.pk) == "sent"  # sealed with the old key, partner down
    call_command("node_keys", "rotate", "--grace-seconds", "3600")
    packet.refresh_from_db()
    with PartnerServer(kca, old_sig.public_jwk) as partner:
        kca.agency.inbox_url = partner.url
        kca.agency.save()
        assert deliver(packet.pk, now=packet.next_attempt_at) == "acknowledged"
    assert partner.received[0]["pid"] == packet.pid
    # What is queued after the rotation is signed with the new key.
    disputes.post_message(dispute, actor=actor, body="More news", language="en")
    message = OutboundPacket.objects.get(type="dispute.message")
    new_sig = our_key("sig")
    assert new_sig.kid != old_sig.kid
    with PartnerServer(kca, new_sig.public_jwk) as partner:
        kca.agency.inbox_url = partner.url
        kca.agency.save()
        assert deliver(message.pk) == "acknowledged"


def test_a_partners_packets_signed_before_its_rotation_count_until_the_overlap_ends(node, kca):
    reference = "KCA-2026-000042"
    in_flight = kca.packet("dispute.forward", forward_body(reference), dispute=reference)
    later = kca.packet("dispute.message", message_body("Late news"), dispute=reference, seq=3)
    new = rotate_partner(kca, retire_in=dt.timedelta(hours=1))
    assert receive(in_flight) == (200, "applied")
    fresh = new.packet("dispute.message", message_body("New key"), dispute=reference, seq=2)
    assert receive(fresh) == (200, "applied")
    # The overlap is over: the old key's packets are refused, whenever they were signed.
    AgencyKey.objects.filter(kid=kca.sig.kid).update(
        not_after=timezone.now() - dt.timedelta(seconds=1)
    )
    assert receive(later) == (401, "key_not_valid")


# --- revocation -------------------------------------------------------------------------------


def test_a_revoked_key_is_refused_at_once_even_for_packets_already_waiting(node, kca):
    reference = "KCA-2026-000042"
    forward = kca.claims("dispute.forward", forward_body(reference), dispute=reference)
    second = kca.packet("dispute.message", message_body("Second"), dispute=reference)
    # The second packet overtook the first and waits in our inbox for it.
    assert receive(second) == (202, "waiting")
    new = rotate_partner(kca, retire_in=dt.timedelta(days=14))

    call_command("revoke_key", kca.sig.kid, "--reason", "laptop stolen")
    key = AgencyKey.objects.get(kid=kca.sig.kid)
    assert key.revoked_at is not None and key.revocation_reason == "laptop stolen"

    # Still in flight, signed with the revoked key: refused from the moment of revocation.
    assert receive(kca.encrypt(kca.sign(forward))) == (401, "key_not_valid")
    # Signed again with the new key, the first packet is applied; the waiting one, signed with
    # the revoked key, is refused when its turn comes.
    assert receive(new.encrypt(new.sign(forward))) == (200, "applied")
    waiting = InboundPacket.objects.get(seq=2, dispute_reference=reference)
    assert (waiting.state, waiting.code) == ("refused", "key_not_valid")
    assert "revoked" in decode_receipt_claims(waiting.receipt)["detail"]
    assert not Dispute.objects.get(reference=reference).messages.filter(body="Second").exists()


def test_an_admin_revokes_a_key_with_a_reason(client, node, kca):
    verified_login(client, make_staff("admin-bpkn", roles.AGENCY_ADMIN))
    key = AgencyKey.objects.get(kid=kca.sig.kid)
    url = "/admin/agencies/agencykey/"
    asked = client.post(url, {"action": "revoke", "_selected_action": [key.pk]})
    assert asked.status_code == 200
    assert "Reason" in asked.content.decode() and "cannot be undone" in asked.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None

    empty = client.post(url, {"action": "revoke", "_selected_action": [key.pk], "apply": "1"})
    assert "This field is required." in empty.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None

    client.post(
        url,
        {
            "action": "revoke",
            "_selected_action": [key.pk],
            "apply": "1",
            "reason": "KCA reported the key exposed (phone call, 11:20)",
        },
    )
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert key.revocation_reason.startswith("KCA reported")
    ping = kca.packet("partner.ping", {"nonce": "abcdefgh", "sent_at": "2026-12-06T11:21:00Z"})
    assert receive(ping) == (401, "key_not_valid")


# --- expiry warnings --------------------------------------------------------------------------


@pytest.fixture
def admin_with_email(node):
    return make_staff("admin-bpkn", roles.AGENCY_ADMIN)


def test_admins_are_warned_once_before_a_key_expires(node, kca, admin_with_email, settings):
    settings.ODR_KEY_EXPIRY_WARNING_DAYS = 30
    soon = timezone.now() + dt.timedelta(days=10)
    AgencyKey.objects.filter(kid__in=[our_key("sig").kid, kca.enc.kid]).update(not_after=soon)
    assert warn_expiring_keys() == 2
    [email] = mail.outbox
    assert email.to == [admin_with_email.email]
    assert our_key("sig").kid in email.body and "node_keys rotate" in email.body
    assert f"KR-KCA enc {kca.enc.kid}" in email.body
    assert warn_expiring_keys() == 0
    assert len(mail.outbox) == 1


def test_a_key_far_from_expiry_or_already_replaced_is_not_warned_about(
    node, kca, admin_with_email, settings
):
    settings.ODR_KEY_EXPIRY_WARNING_DAYS = 30
    AgencyKey.objects.filter(kid=kca.sig.kid).update(
        not_after=timezone.now() + dt.timedelta(days=90)
    )
    call_command("node_keys", "rotate")  # the old keys expire in 14 days, replaced already
    assert warn_expiring_keys() == 0
    assert mail.outbox == []
