"""The standing of an MoU for packets, on both sides, and what each side tells the other.

The inbox accepts a packet under the MoU in force. Outside it (protocol 1.4):

- ``partner.ping`` is accepted under any MoU between the two, whatever its state, so that the
  connectivity check works before activation and each side learns the other's state;
- under a **suspended** MoU, packets for a dispute already shared under it are accepted (open
  cases continue); a new ``dispute.forward`` is refused;
- under a **terminated** MoU, the same until ``packets_accepted_until`` (the grace period the
  administrator set), then everything but a ping is refused;
- a refusal says the MoU's state here and the reason given, so the partner is never left
  guessing why nothing arrives.
"""

from __future__ import annotations

import datetime as dt

from django.utils.dateparse import parse_datetime

from agencies.models import Agency, MoU
from agencies.selectors import latest_reason, mou_named, onboarding_state
from disputes.models import Dispute

from .models import OutboundPacket, PacketType
from .packets import PacketRefused

# States whose reason the other side is told (an active MoU's last reason is old news).
STOPPED = (MoU.Status.SUSPENDED, MoU.Status.TERMINATED)


def _refusal(mou: MoU, here: Agency) -> PacketRefused:
    reason = latest_reason(mou)
    state = onboarding_state(mou)
    detail = f"MoU {mou.reference} is {state} at {here.code}"
    if reason:
        detail += f": {reason}"
    return PacketRefused("no_active_mou", detail[:1900])


def mou_for_packet(
    claims: dict, sender: Agency, here: Agency, in_force: MoU | None, now: dt.datetime
) -> MoU:
    """The MoU a packet may be placed under, or PacketRefused saying why none."""
    if in_force is not None and claims["mou"] == in_force.reference:
        return in_force
    named = mou_named(sender, here, claims["mou"])
    if named is None:
        if in_force is not None:
            raise PacketRefused("mou_mismatch", f"the MoU in force is {in_force.reference}")
        raise PacketRefused(
            "no_active_mou", f"no MoU {claims['mou']} between {sender.code} and {here.code}"
        )
    if claims["type"] == PacketType.PARTNER_PING:
        return named
    today = now.date()
    if (
        named.status == MoU.Status.ACTIVE
        and (named.effective_from is None or named.effective_from <= today)
        and (named.effective_until is None or named.effective_until >= today)
    ):
        # Activated in the last seconds, which this process's cache of MoUs does not show yet.
        return named
    if in_force is not None:
        raise PacketRefused("mou_mismatch", f"the MoU in force is {in_force.reference}")
    if (
        claims["type"] != PacketType.DISPUTE_FORWARD
        and claims["dispute"]
        and _takes_open_cases(named, now)
        and Dispute.objects.filter(reference=claims["dispute"], mou=named).exists()
    ):
        return named
    raise _refusal(named, here)


def _takes_open_cases(mou: MoU, now: dt.datetime) -> bool:
    """Suspended, or terminated within its grace period: cases already shared continue."""
    if mou.status == MoU.Status.SUSPENDED:
        return True
    return (
        mou.status == MoU.Status.TERMINATED
        and mou.packets_accepted_until is not None
        and now < mou.packets_accepted_until
    )


def _told_reason(mou: MoU) -> str:
    """The reason the other side is told with the MoU's state (only a stopped MoU's)."""
    return latest_reason(mou) if mou.status in STOPPED else ""


def pong_detail(mou: MoU) -> str:
    """What the receiver of a ping says back in its signed receipt: its state of the MoU."""
    detail = f"MoU {mou.reference} is {onboarding_state(mou)} here"
    reason = _told_reason(mou)
    return (detail + (f": {reason}" if reason else ""))[:1900]


def record_partner_state(body: dict, mou: MoU, now: dt.datetime) -> None:
    """A ping told us the MoU's state on the sender's node (and why, if it said)."""
    if "state" not in body:
        return
    sent_at = parse_datetime(body["sent_at"]) or now
    if mou.partner_state_at is not None and mou.partner_state_at > sent_at:
        return  # an older ping, arriving late
    MoU.objects.filter(pk=mou.pk).update(
        partner_state=body["state"],
        partner_state_reason=body.get("reason", ""),
        partner_state_at=sent_at,
    )


def record_pong(packet: OutboundPacket, sent: dt.datetime, answered: dt.datetime) -> None:
    """The partner answered a ping: the connectivity check passed, with this round trip."""
    rtt_ms = max(0, int((answered - sent).total_seconds() * 1000))
    MoU.objects.filter(reference=packet.mou_reference).update(
        last_pong_at=answered, last_ping_rtt_ms=rtt_ms
    )


def ping_body(mou: MoU, nonce: str, now: dt.datetime) -> dict:
    body = {"nonce": nonce, "sent_at": now.isoformat(), "state": onboarding_state(mou)}
    reason = _told_reason(mou)
    if reason:
        body["reason"] = reason[:1000]
    return body
