"""Reads about packets: per dispute for the caseworker's timeline, and the node's relay log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from disputes.models import Dispute

from .models import InboundPacket, InboxRefusal, OutboundPacket


@dataclass(frozen=True)
class PacketView:
    direction: str  # "outbound" or "inbound"
    pid: str
    type: str
    seq: int | None
    state: str  # queued, sent, acknowledged, refused, dead (out); waiting, applied, refused (in)
    state_label: str
    at: dt.datetime
    code: str
    agency: str  # the other agency
    attempts: int
    last_error: str


INBOUND_REFUSED_LABEL = InboundPacket.State.REFUSED.label


def packets_for_dispute(dispute: Dispute) -> list[PacketView]:
    """Outbound and inbound packets of a dispute, oldest first, with their state and codes."""
    views = []
    for packet in OutboundPacket.objects.filter(dispute_reference=dispute.reference).select_related(
        "recipient"
    ):
        views.append(
            PacketView(
                direction="outbound",
                pid=packet.pid,
                type=packet.type,
                seq=packet.seq,
                state=packet.state,
                state_label=str(packet.get_state_display()),
                at=packet.receipt_at or packet.last_attempt_at or packet.created_at,
                code=packet.receipt_code,
                agency=packet.recipient.code,
                attempts=packet.attempts,
                last_error=packet.last_error,
            )
        )
    for packet in InboundPacket.objects.filter(dispute_reference=dispute.reference).select_related(
        "sender"
    ):
        views.append(
            PacketView(
                direction="inbound",
                pid=packet.pid,
                type=packet.type,
                seq=packet.seq,
                state=packet.state,
                state_label=str(packet.get_state_display()),
                at=packet.applied_at or packet.received_at,
                code=packet.code,
                agency=packet.sender.code,
                attempts=0,
                last_error=packet.detail,
            )
        )
    # Refused before they could be placed, but authenticated as from a party of this dispute.
    parties = {dispute.home_agency.code}
    if dispute.partner_agency_id:
        parties.add(dispute.partner_agency.code)
    for refusal in InboxRefusal.objects.filter(
        dispute_reference=dispute.reference, authenticated=True, sender_code__in=parties
    ):
        views.append(
            PacketView(
                direction="inbound",
                pid=refusal.pid,
                type=refusal.type,
                seq=None,
                state="refused",
                state_label=str(INBOUND_REFUSED_LABEL),
                at=refusal.received_at,
                code=refusal.code,
                agency=refusal.sender_code,
                attempts=0,
                last_error=refusal.detail,
            )
        )
    return sorted(views, key=lambda view: (view.at, view.direction, view.seq or 0))


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def relay_log(since_id: int = 0) -> list[dict]:
    """Every packet row of this node as a dict; ids are per direction (out, in, refused)."""
    rows = []
    for packet in (
        OutboundPacket.objects.filter(pk__gt=since_id).select_related("recipient").order_by("pk")
    ):
        rows.append(
            {
                "direction": "out",
                "id": packet.pk,
                "pid": packet.pid,
                "type": packet.type,
                "agency": packet.recipient.code,
                "dispute": packet.dispute_reference or None,
                "seq": packet.seq,
                "state": packet.state,
                "attempts": packet.attempts,
                "receipt_status": packet.receipt_status or None,
                "receipt_code": packet.receipt_code or None,
                "last_error": packet.last_error or None,
                "at": _iso(packet.created_at),
                "last_attempt_at": _iso(packet.last_attempt_at),
                "next_attempt_at": _iso(packet.next_attempt_at),
                "receipt_at": _iso(packet.receipt_at),
                "deadline_at": _iso(packet.deadline_at),
            }
        )
    for packet in (
        InboundPacket.objects.filter(pk__gt=since_id).select_related("sender").order_by("pk")
    ):
        rows.append(
            {
                "direction": "in",
                "id": packet.pk,
                "pid": packet.pid,
                "type": packet.type,
                "agency": packet.sender.code,
                "dispute": packet.dispute_reference or None,
                "seq": packet.seq,
                "state": packet.state,
                "attempts": 1,
                "receipt_status": "refused" if packet.state == "refused" else "accepted",
                "receipt_code": packet.code,
                "last_error": packet.detail or None,
                "at": _iso(packet.received_at),
                "applied_at": _iso(packet.applied_at),
            }
        )
    for refusal in InboxRefusal.objects.filter(pk__gt=since_id).order_by("pk"):
        rows.append(
            {
                "direction": "in",
                "id": refusal.pk,
                "pid": refusal.pid or None,
                "type": refusal.type or None,
                "agency": refusal.sender_code or "?",
                "dispute": refusal.dispute_reference or None,
                "seq": None,
                "state": "refused",
                "attempts": 1,
                "receipt_status": "refused",
                "receipt_code": refusal.code,
                "last_error": refusal.detail or None,
                "at": _iso(refusal.received_at),
                "authenticated": refusal.authenticated,
                # Refused before it was placed: not a packet this node holds (no replay record).
                "refusal": True,
            }
        )
    return rows
