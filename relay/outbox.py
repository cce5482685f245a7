"""The outbox: packets written in the transaction of the change they carry, woken for delivery
after commit.

Owns: the listener of ``disputes.events.timeline_event_recorded`` (``on_timeline_event``),
``queue_packet`` (sequence numbers per dispute and partner, lanes), ``retry_packet`` (a dead or
refused packet put back by hand). May call ``relay.bodies`` and ``relay.tasks`` (the wake-up
after commit); never sends anything itself (``relay.delivery`` does).
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency, MoU
from disputes.models import Dispute, TimelineEvent
from odr.errors import DomainError

from . import packets
from .bodies import packet_for_event
from .models import OutboundPacket
from .tasks import wake_delivery_after_commit

logger = logging.getLogger(__name__)


def on_timeline_event(sender, *, event: TimelineEvent, share_with_partner: bool, **kwargs) -> None:
    """Receives ``timeline_event_recorded`` inside the transaction that wrote ``event``, and
    writes an outgoing packet in it if the event is shared.

    Only a dispute that was forwarded (partner agency and MoU set) is shared, and only with the
    other agency of the dispute. Changes applied from a partner's packet are not shared back.
    """
    if not share_with_partner:
        return
    dispute = event.dispute
    if not dispute.partner_agency_id or not dispute.mou_id:
        return
    if dispute.home_agency.code == settings.ODR_NODE:
        recipient = dispute.partner_agency
    elif dispute.partner_agency.code == settings.ODR_NODE:
        recipient = dispute.home_agency
    else:
        return
    built = packet_for_event(event, dispute)
    if built is None:
        return
    packet_type, body = built
    queue_packet(
        packet_type,
        recipient=recipient,
        mou=dispute.mou,
        dispute=dispute,
        body=body,
        language=event.language or dispute.filing_language,
        event=event,
        now=event.at,
    )


def queue_packet(
    packet_type: str,
    *,
    recipient: Agency,
    mou: MoU,
    body: dict,
    dispute: Dispute | None = None,
    language: str = "",
    event: TimelineEvent | None = None,
    signing_kid: str = "",
    now: dt.datetime | None = None,
) -> OutboundPacket:
    """Write an outgoing packet in the caller's transaction; delivery is queued on commit.

    Dispute packets get the next sequence number of (dispute, recipient): the caller holds the
    dispute's row lock, and the unique constraint catches anything that slips past it.
    """
    now = now or timezone.now()
    seq = None
    if dispute is not None:
        seq = _next_seq(dispute.reference, recipient.pk)
    packet = OutboundPacket.objects.create(
        lane=delivery_lane(dispute.reference if dispute else ""),
        pid=packets.new_pid(),
        type=packet_type,
        recipient=recipient,
        mou_reference=mou.reference,
        dispute=dispute,
        dispute_reference=dispute.reference if dispute else "",
        seq=seq,
        language=language,
        body=body,
        event=event,
        signing_kid=signing_kid,
        state=OutboundPacket.State.QUEUED,
        created_at=now,
        deadline_at=now + dt.timedelta(hours=mou.relay_deadline_hours),
        next_attempt_at=now,
    )
    wake_delivery_after_commit(recipient, packet.lane)
    transaction.on_commit(
        lambda: logger.info(
            "packet %s queued for %s (%s)",
            packet.pid,
            recipient.code,
            packet_type,
            extra={
                "packet_id": packet.pid,
                "partner": recipient.code,
                "state": "queued",
                "dispute": packet.dispute_reference,
            },
        )
    )
    return packet


def _next_seq(dispute_reference: str, recipient_id: int) -> int:
    """The next sequence number of a dispute's packets to one partner (the caller holds the
    dispute's row lock; the unique (dispute, recipient, seq) index catches anything else).

    Read as the last entry of that unique index, one entry. Not MAX(seq): without "seq IS NOT
    NULL" the partial index does not match, and a table without statistics yet (a new node) was
    read through the recipient's index, every packet ever sent to that partner.

    Fast path (docs/architecture.md, "Performance rules"): one statement written out, once per
    packet. The same query through the ORM (``filter().order_by("-seq").values_list().first()``)
    was tried on 2026-12-06: with the inbox stream's write-back also through the ORM, relay
    throughput fell by 8 to 11 % in alternating runs (docs/performance.md), past the 10 % rule.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq FROM relay_outboundpacket"
            " WHERE dispute_reference = %s AND recipient_id = %s AND seq IS NOT NULL"
            " ORDER BY seq DESC LIMIT 1",
            [dispute_reference, recipient_id],
        )
        last = cursor.fetchone()
    return (last[0] if last else 0) + 1


def delivery_lane(dispute_reference: str) -> int:
    """The lane of a dispute's packets (partner packets: lane 0); stable across processes."""
    if not dispute_reference:
        return 0
    return zlib.crc32(dispute_reference.encode()) % max(1, settings.ODR_RELAY_LANES)


@transaction.atomic
def retry_packet(packet: OutboundPacket, *, now: dt.datetime | None = None) -> OutboundPacket:
    """Send a dead-lettered or refused packet again, by hand, with a fresh deadline.

    It keeps its id and sequence number: if the partner did get it, the partner answers with
    the original receipt. It is sealed again, so an expired packet gets a new expiry.
    """
    now = now or timezone.now()
    packet = OutboundPacket.objects.select_for_update().get(pk=packet.pk)
    if packet.state not in (OutboundPacket.State.DEAD, OutboundPacket.State.REFUSED):
        raise DomainError(
            _("Only a dead-lettered or refused packet can be retried."), code="not_retryable"
        )
    mou = MoU.objects.filter(reference=packet.mou_reference).first()
    hours = mou.relay_deadline_hours if mou else 72
    packet.state = OutboundPacket.State.QUEUED
    packet.deadline_at = now + dt.timedelta(hours=hours)
    packet.next_attempt_at = now
    packet.sealed = ""
    packet.sealed_sha256 = ""
    packet.save()
    wake_delivery_after_commit(packet.recipient, packet.lane)
    return packet


@transaction.atomic
def resend_acknowledged(
    recipient: Agency, since: dt.datetime, *, now: dt.datetime | None = None
) -> tuple[int, list[str]]:
    """Send again the packets ``recipient`` acknowledged since ``since`` (its receipt's time):
    what a partner received after the backup it restored is gone there (docs/operations.md).

    Each keeps its id, sequence number and sealed bytes, so a partner that still has a packet
    answers with its original receipt and applies nothing twice, and one that lost it applies it
    in order. Returns how many were queued again, and the ids of those already expired, which
    cannot be sent as they were.
    """
    now = now or timezone.now()
    acknowledged = OutboundPacket.objects.select_for_update().filter(
        recipient=recipient,
        state=OutboundPacket.State.ACKNOWLEDGED,
        receipt_at__gte=since,
    )
    expired = list(acknowledged.filter(expires_at__lte=now).values_list("pid", flat=True))
    resent = 0
    hours = dict(MoU.objects.values_list("reference", "relay_deadline_hours"))
    for mou_reference in set(acknowledged.values_list("mou_reference", flat=True)):
        resent += acknowledged.filter(mou_reference=mou_reference, expires_at__gt=now).update(
            state=OutboundPacket.State.QUEUED,
            next_attempt_at=now,
            deadline_at=now + dt.timedelta(hours=hours.get(mou_reference, 72)),
        )
    for lane in range(max(1, settings.ODR_RELAY_LANES)):
        wake_delivery_after_commit(recipient, lane)
    logger.info(
        "%s packets acknowledged by %s since %s queued again; %s expired",
        resent,
        recipient.code,
        since.isoformat(),
        len(expired),
        extra={"partner": recipient.code},
    )
    return resent, expired
