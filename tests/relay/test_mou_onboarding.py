"""The connectivity check before an MoU becomes active: a signed ping under the draft MoU, the
partner's signed pong with the round-trip time, each side's state told to the other in-band,
and activation refused until a ping has been answered since the last key change."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from joserfc.jwk import OKPKey

from agencies.models import AgencyKey, MoU
from agencies.selectors import onboarding_state
from agencies.services import activate_mou, pin_agency_key
from odr.errors import DomainError
from relay import cards
from relay.delivery import deliver
from relay.inbox import receive_packet
from relay.models import OutboundPacket
from relay.packets import decode_receipt_claims
from relay.partners import send_ping
from tests.relay.onboarding import REFERENCE, OnboardedPartner, card_for
from tests.relay.partner import PartnerServer, our_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def nccc(node):
    return OnboardedPartner()


def answered_ping(partner, answer=None) -> OutboundPacket:
    packet = send_ping(partner.code)
    with PartnerServer(partner, our_key("sig").public_jwk, answer=answer) as server:
        partner.agency.inbox_url = server.url
        partner.agency.save()
        deliver(packet.pk)
    packet.refresh_from_db()
    return packet


def test_a_draft_mou_starts_prospective_and_cannot_be_activated_without_a_ping(nccc):
    assert onboarding_state(nccc.mou) == "prospective"
    with pytest.raises(DomainError) as refused:
        activate_mou(nccc.mou, reason="Signed in Kuala Lumpur")
    assert refused.value.code == "ping_required"
    nccc.mou.refresh_from_db()
    assert nccc.mou.status == MoU.Status.DRAFT


def test_a_ping_under_the_draft_mou_is_answered_and_timed(nccc):
    packet = answered_ping(nccc)
    assert packet.state == "acknowledged"
    assert packet.mou_reference == REFERENCE
    assert packet.body["state"] == "prospective"
    mou = MoU.objects.get(reference=REFERENCE)
    assert mou.last_pong_at is not None
    assert mou.last_ping_rtt_ms is not None and mou.last_ping_rtt_ms < 60_000
    assert onboarding_state(mou) == "pinged"

    activated = activate_mou(mou, reason="Signed in Kuala Lumpur, 1 Dec 2026")
    assert activated.status == MoU.Status.ACTIVE
    assert onboarding_state(activated) == "active"
    change = activated.status_changes.order_by("-changed_at").first()
    assert change.note == "Signed in Kuala Lumpur, 1 Dec 2026"


def test_a_refused_ping_does_not_count(nccc):
    packet = answered_ping(nccc, answer=lambda claims: (403, "refused", "no_active_mou"))
    assert packet.state == "refused"
    assert onboarding_state(MoU.objects.get(reference=REFERENCE)) == "prospective"


def test_a_key_change_after_the_ping_needs_a_new_ping(nccc):
    answered_ping(nccc)
    # The partner announces a new signing key (or ours is rotated): the path must be checked again.
    new_sig = OKPKey.generate_key("Ed25519", parameters={"kid": "MY-NCCC-sig-2"}, private=True)
    pin_agency_key(
        nccc.agency,
        {**new_sig.as_dict(private=False), "use": "sig"},
        not_before=timezone.now() + dt.timedelta(seconds=1),
    )
    mou = MoU.objects.get(reference=REFERENCE)
    assert onboarding_state(mou) == "prospective"
    with pytest.raises(DomainError, match="connectivity check"):
        activate_mou(mou, reason="Signed")
    AgencyKey.objects.filter(kid="MY-NCCC-sig-2").update(
        not_before=timezone.now() - dt.timedelta(seconds=5),
        created_at=timezone.now() - dt.timedelta(seconds=5),
    )
    answered_ping(nccc)
    assert activate_mou(MoU.objects.get(reference=REFERENCE), reason="Signed").status == "active"


def test_the_partners_ping_under_the_draft_tells_its_state_and_gets_ours(nccc):
    sealed = nccc.packet(
        "partner.ping",
        {
            "nonce": "abcdefgh",
            "sent_at": timezone.now().isoformat(),
            "state": "pinged",
        },
    )
    status, receipt, code = receive_packet(sealed, content_type="application/jose")
    assert (status, code) == (200, "applied")
    pong = decode_receipt_claims(receipt)
    assert pong["detail"] == f"MoU {REFERENCE} is prospective here"
    mou = MoU.objects.get(reference=REFERENCE)
    assert mou.partner_state == "pinged"


def test_a_dispute_packet_under_the_draft_is_refused_with_the_state(nccc):
    sealed = nccc.packet(
        "dispute.message",
        {
            "uid": "x" * 16,
            "author_kind": "home_agency",
            "author_name": "Aminah",
            "body": "Hello",
            "language": "en",
            "visible_to_consumer": False,
            "sent_at": timezone.now().isoformat(),
        },
        dispute="NCCC-2026-000001",
    )
    status, receipt, code = receive_packet(sealed, content_type="application/jose")
    assert (status, code) == (403, "no_active_mou")
    assert f"MoU {REFERENCE} is prospective at ID-BPKN" in decode_receipt_claims(receipt)["detail"]


def test_a_prospective_partner_is_not_pinged(node):
    sig = OKPKey.generate_key("Ed25519", parameters={"kid": "MY-NCCC-sig-1"}, private=True)
    enc = OKPKey.generate_key("X25519", parameters={"kid": "MY-NCCC-enc-1"}, private=True)
    cards.import_partner_card(card_for("MY-NCCC", sig, enc, "https://odr.nccc.example/in/"))
    with pytest.raises(DomainError) as refused:
        send_ping("MY-NCCC")
    assert refused.value.code == "partner_not_confirmed"


def test_the_commands_drive_the_check_and_the_activation(nccc):
    with pytest.raises(CommandError, match="ping_required"):
        call_command("mou", "activate", REFERENCE, "--reason", "Signed")
    with pytest.raises(CommandError, match="reason_required"):
        call_command("mou", "activate", REFERENCE)
    out = StringIO()
    call_command("ping_partner", "MY-NCCC", stdout=out)
    assert f"queued to MY-NCCC under {REFERENCE}" in out.getvalue()
    packet = OutboundPacket.objects.get(type="partner.ping")
    with PartnerServer(nccc, our_key("sig").public_jwk) as server:
        nccc.agency.inbox_url = server.url
        nccc.agency.save()
        deliver(packet.pk)
    out = StringIO()
    call_command("mou", "activate", REFERENCE, "--reason", "Signed", stdout=out)
    assert f"{REFERENCE} is active" in out.getvalue()
