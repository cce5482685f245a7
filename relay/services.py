"""Relay services: the outbox (packets written with the change they carry), delivery with retries
and dead letters, the inbox (checks in a fixed order, receipts, ordering) and node keys.

docs/protocol.md specifies the wire format; relay/packets.py implements it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import logging
import secrets
import time
import zlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from agencies import refcache
from agencies.models import Agency, AgencyKey, Category, Country, DomesticBody, MoU
from agencies.selectors import (
    active_mou_between,
    mou_in_force,
    scope_problems,
    this_agency,
    valid_keys,
)
from disputes.models import Dispute, Evidence, Message, ProblemType, Remedy, Status, TimelineEvent
from odr.errors import DomainError

from . import keys as node_keys
from . import packets, refdata, transport
from .models import InboundPacket, InboundStream, InboxRefusal, OutboundPacket, PacketType
from .packets import PacketRefused

logger = logging.getLogger(__name__)

INBOX_REFUSAL_WINDOW_SECONDS = 60
MIN_KEY_GRACE_SECONDS = 300
OUTCOME_TRANSITIONS = frozenset(
    {"record_settlement", "record_no_settlement", "accept_settlement", "refer_to_adjudication"}
)
NOTE_EVENTS = frozenset({"settlement_proposed", "settlement_rejected"})
# Status transitions a partner may carry in dispute.status, with the keyword its text goes to.
STATUS_TEXT_ARGUMENT: dict[str, str | None] = {
    "accept_forwarded": None,
    "return_to_home": "reason",
    "contact_merchant": "note",
    "start_negotiation": "note",
    "start_mediation": "note",
    "close": "note",
    "withdraw": "reason",
    "request_clarification": "question",
    "provide_clarification": "answer",
    "refer_out_of_scope": "reason",
}
ACTOR_KIND = {
    TimelineEvent.Actor.CONSUMER: "consumer",
    TimelineEvent.Actor.MERCHANT: "merchant",
    TimelineEvent.Actor.HOME_AGENCY: "home_agency",
    TimelineEvent.Actor.PARTNER_AGENCY: "partner_agency",
    TimelineEvent.Actor.SYSTEM: "system",
}


# --- the outbox -------------------------------------------------------------------------------


def on_timeline_event(event: TimelineEvent) -> None:
    """Called inside the transaction that wrote ``event``; writes an outgoing packet if shared.

    Only a dispute that was forwarded (partner agency and MoU set) is shared, and only with the
    other agency of the dispute. Changes applied from a partner's packet never come here.
    """
    dispute = event.dispute
    if not dispute.partner_agency_id or not dispute.mou_id:
        return
    if dispute.home_agency.code == settings.ODR_NODE:
        recipient = dispute.partner_agency
    elif dispute.partner_agency.code == settings.ODR_NODE:
        recipient = dispute.home_agency
    else:
        return
    built = _packet_for_event(event, dispute)
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


def _packet_for_event(event: TimelineEvent, dispute: Dispute) -> tuple[str, dict] | None:
    data = event.data or {}
    if event.kind == TimelineEvent.Kind.STATUS_CHANGED:
        transition = data.get("transition")
        if transition == "forward":
            return PacketType.DISPUTE_FORWARD, forward_body(dispute, event.at)
        if transition in OUTCOME_TRANSITIONS:
            return PacketType.DISPUTE_OUTCOME, outcome_body(event, dispute)
        return PacketType.DISPUTE_STATUS, status_body(event)
    if event.kind == TimelineEvent.Kind.MESSAGE:
        message = getattr(event, "subject_message", None) or Message.objects.get(
            uid=data["message_uid"]
        )
        return PacketType.DISPUTE_MESSAGE, message_body(message)
    if event.kind == TimelineEvent.Kind.DOCUMENT:
        evidence = dispute.evidence.get(sha256=data["sha256"])
        return PacketType.DISPUTE_DOCUMENT, document_body(evidence, event)
    if event.kind == TimelineEvent.Kind.NOTE and data.get("event") in NOTE_EVENTS:
        return PacketType.DISPUTE_STATUS, status_body(event)
    return None


def _evidence_form(evidence: Evidence) -> dict:
    with evidence.file.open("rb") as handle:
        content = handle.read()
    return packets.file_form(
        name=evidence.original_name,
        content=content,
        content_type=evidence.content_type,
        uploaded_by=evidence.uploaded_by,
        uploaded_at=evidence.uploaded_at,
    )


def message_body(message: Message) -> dict:
    return {
        "uid": message.uid,
        "author_kind": message.author_kind,
        "author_name": message.author_name[:200],
        "body": message.body,
        "language": message.language,
        "visible_to_consumer": message.visible_to_consumer,
        "sent_at": message.sent_at.isoformat(),
    }


def forward_body(dispute: Dispute, at: dt.datetime) -> dict:
    """The whole case for the partner. The consumer's email and phone stay with the home agency,
    which alone contacts the consumer; the partner gets what it needs to take up the complaint
    with the merchant."""
    return {
        "reference": dispute.reference,
        "home_agency": dispute.home_agency.code,
        "partner_agency": dispute.partner_agency.code,
        "mou": dispute.mou.reference,
        "filed_at": dispute.filed_at.isoformat(),
        "forwarded_at": at.isoformat(),
        "consumer": {
            "name": dispute.consumer_name,
            "country": dispute.consumer_country_id,
            "language": dispute.consumer_language,
        },
        "merchant": {
            "name": dispute.merchant_name,
            "website": dispute.merchant_website,
            "country": dispute.merchant_country_id,
            "contact": dispute.merchant_contact,
        },
        "purchase": {
            "date": dispute.purchase_date.isoformat(),
            "order_number": dispute.order_number,
            "amount": f"{dispute.amount:.2f}",
            "currency": dispute.currency,
            "payment_method": dispute.payment_method,
            "platform": dispute.platform,
        },
        "category": dispute.category.code,
        "problem_types": sorted(dispute.problem_types.values_list("code", flat=True)),
        "desired_remedy": dispute.desired_remedy.code,
        "account": {"text": dispute.consumer_account, "language": dispute.filing_language},
        "intake_channel": dispute.intake_channel,
        "evidence": [_evidence_form(evidence) for evidence in dispute.evidence.order_by("pk")],
        "messages": [message_body(m) for m in dispute.messages.order_by("sent_at", "pk")],
    }


def _scalar_data(data: dict) -> dict:
    return {
        key: value
        for key, value in (data or {}).items()
        if isinstance(value, str | int | float | bool) or value is None
    }


def status_body(event: TimelineEvent) -> dict:
    data = event.data or {}
    return {
        "transition": data.get("transition"),
        "event": None if data.get("transition") else data.get("event"),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor_kind": ACTOR_KIND.get(event.actor, "system"),
        "actor_name": event.actor_name[:200],
        "text": event.text,
        "language": event.language,
        "at": event.at.isoformat(),
        "data": _scalar_data({k: v for k, v in data.items() if k not in ("transition", "event")}),
    }


def outcome_body(event: TimelineEvent, dispute: Dispute) -> dict:
    data = event.data or {}
    amount = dispute.settlement_amount
    return {
        "transition": data["transition"],
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor_kind": ACTOR_KIND.get(event.actor, "system"),
        "actor_name": event.actor_name[:200],
        "summary": dispute.outcome_summary or event.text,
        "language": event.language,
        "settlement_amount": f"{amount:.2f}" if amount is not None else None,
        "settlement_currency": dispute.settlement_currency if amount is not None else "",
        "referred_to": data.get("referred_to"),
        "at": event.at.isoformat(),
    }


def document_body(evidence: Evidence, event: TimelineEvent) -> dict:
    return {
        "file": _evidence_form(evidence),
        "actor_kind": ACTOR_KIND.get(event.actor, "system"),
        "actor_name": event.actor_name[:200],
        "note": event.text,
        "language": event.language,
        "visible_to_consumer": event.visible_to_consumer,
    }


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
        # A plain statement: one per packet written, and the ORM's query cost more CPU to build
        # than the database's answer. Written so that only the unique (dispute, recipient, seq)
        # index answers it, one entry read: as MAX(seq) without "seq IS NOT NULL" the partial
        # index did not match, and a table without statistics yet (a new node) was read through
        # the recipient's index, every packet to that partner.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT seq FROM relay_outboundpacket"
                " WHERE dispute_reference = %s AND recipient_id = %s AND seq IS NOT NULL"
                " ORDER BY seq DESC LIMIT 1",
                [dispute.reference, recipient.pk],
            )
            last = cursor.fetchone()
        seq = (last[0] if last else 0) + 1
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
    _deliver_after_commit(recipient, packet.lane)
    return packet


def delivery_lane(dispute_reference: str) -> int:
    """The lane of a dispute's packets (partner packets: lane 0); stable across processes."""
    if not dispute_reference:
        return 0
    return zlib.crc32(dispute_reference.encode()) % max(1, settings.ODR_RELAY_LANES)


def _deliver_after_commit(recipient: Agency, lane: int) -> None:
    from .tasks import BROKER_ERRORS, deliver_to_partner, mark_queued, unmark_queued

    def send():
        # A broker that is down must not fail the change the caller has committed: the database
        # holds the packet, and the beat's sweep queues it once the broker is back.
        try:
            # One waiting task per partner is enough: it delivers everything due when it runs.
            if mark_queued(recipient.pk, lane):
                deliver_to_partner.delay(recipient.pk, lane)
        except BROKER_ERRORS as error:
            unmark_queued(recipient.pk, lane)
            logger.warning(
                "could not queue delivery to %s (%s); the sweep will", recipient.code, error
            )

    transaction.on_commit(send)


@transaction.atomic
def send_ping(agency_code: str) -> OutboundPacket:
    """Queue a partner.ping to an agency we have an active MoU with."""
    partner = Agency.objects.get(code=agency_code)
    mou = active_mou_between(this_agency(), partner)
    if mou is None:
        raise DomainError(
            _("There is no active MoU with %(agency)s.") % {"agency": agency_code},
            code="no_active_mou",
        )
    now = timezone.now()
    return queue_packet(
        PacketType.PARTNER_PING,
        recipient=partner,
        mou=mou,
        body={"nonce": secrets.token_hex(8), "sent_at": now.isoformat()},
        now=now,
    )


# --- delivery ---------------------------------------------------------------------------------


def backoff_seconds(attempts: int, rand: float | None = None) -> float:
    """Exponential backoff with equal jitter: half the delay fixed, half random."""
    base = settings.ODR_RELAY_BACKOFF_BASE_SECONDS
    cap = settings.ODR_RELAY_BACKOFF_MAX_SECONDS
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    rand = secrets.SystemRandom().random() if rand is None else rand
    return delay / 2 + rand * delay / 2


def delivery_lease_seconds() -> float:
    # Long enough for one POST with its timeout; a worker killed mid-delivery frees it after.
    return settings.ODR_RELAY_TIMEOUT_SECONDS * 3 + 30


def _claim(packet_id: int, now: dt.datetime) -> bool:
    return bool(
        OutboundPacket.objects.filter(
            pk=packet_id,
            state__in=[OutboundPacket.State.QUEUED, OutboundPacket.State.SENT],
            next_attempt_at__lte=now,
        ).update(next_attempt_at=now + dt.timedelta(seconds=delivery_lease_seconds()))
    )


def _open_states():
    return [OutboundPacket.State.QUEUED, OutboundPacket.State.SENT]


def dead_letter(packet: OutboundPacket, error: str, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    OutboundPacket.objects.filter(pk=packet.pk, state__in=_open_states()).update(
        state=OutboundPacket.State.DEAD, last_error=error[:4000], next_attempt_at=None
    )
    logger.warning("packet %s dead-lettered: %s", packet.pid, error)


def record_failure(
    packet: OutboundPacket, error: str, now: dt.datetime, *, rand: float | None = None, **fields
) -> str:
    """After a failed attempt: schedule the next one, or dead-letter past the MoU's deadline."""
    attempts = packet.attempts
    if now >= packet.deadline_at:
        OutboundPacket.objects.filter(pk=packet.pk, state__in=_open_states()).update(**fields)
        dead_letter(packet, f"deadline passed after {attempts} attempts; last error: {error}", now)
        return OutboundPacket.State.DEAD
    next_at = min(now + dt.timedelta(seconds=backoff_seconds(attempts, rand)), packet.deadline_at)
    OutboundPacket.objects.filter(pk=packet.pk, state__in=_open_states()).update(
        last_error=error[:4000],
        next_attempt_at=next_at,
        **fields,
    )
    return OutboundPacket.State.SENT


def _seal(packet: OutboundPacket, now: dt.datetime) -> None:
    """Sign and encrypt once; retries send the same bytes, so the receipt covers them.

    The caller stores the result with ``_store_sealed`` before sending it."""
    signing = (
        node_keys.key_by_kid(packet.signing_kid, "sig", now)
        if packet.signing_kid
        else node_keys.current_key("sig", now)
    )
    enc_keys = refdata.valid_keys(packet.recipient, AgencyKey.Use.ENCRYPTION, now)
    if not enc_keys:
        raise node_keys.KeyUnavailable(
            f"no valid encryption key pinned for {packet.recipient.code}"
        )
    recipient_key = max(enc_keys, key=lambda key: (key.not_before, key.pk))
    expires = now + dt.timedelta(seconds=settings.ODR_PACKET_TTL_SECONDS)
    claims = claims_for(packet, issued_at=now, expires_at=expires)
    sealed = packets.seal(claims, signing, {**recipient_key.public_jwk, "kid": recipient_key.kid})
    packet.sealed = sealed
    packet.sealed_sha256 = packets.sha256_hex(sealed)
    packet.issued_at = packets.from_epoch(claims["iat"])
    packet.expires_at = packets.from_epoch(claims["exp"])


def _store_sealed(sealed: list[OutboundPacket]) -> None:
    """Store the bytes of packets just sealed before any of them is sent (one round trip)."""
    if not sealed:
        return
    adapt = connection.ops.adapt_datetimefield_value
    # One transaction: one commit (a WAL flush) for the batch, not one per packet.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE relay_outboundpacket SET sealed = %s, sealed_sha256 = %s, issued_at = %s,"
            " expires_at = %s WHERE id = %s",
            [
                (p.sealed, p.sealed_sha256, adapt(p.issued_at), adapt(p.expires_at), p.pk)
                for p in sealed
            ],
        )


def claims_for(packet: OutboundPacket, *, issued_at: dt.datetime, expires_at: dt.datetime) -> dict:
    return {
        "odr": packets.PROTOCOL_VERSION,
        "pid": packet.pid,
        "type": packet.type,
        "iss": settings.ODR_NODE,
        "aud": packet.recipient.code,
        "mou": packet.mou_reference,
        "dispute": packet.dispute_reference or None,
        "seq": packet.seq,
        "iat": packets.epoch(issued_at),
        "exp": packets.epoch(expires_at),
        "lang": packet.language,
        "body": packet.body,
    }


def _prepare(packet: OutboundPacket, now: dt.datetime, sealed: list[OutboundPacket]) -> str | None:
    """Seal a claimed packet if it needs it (adding it to ``sealed``, which the caller stores);
    the state it ended in if it cannot be sent."""
    try:
        if not packet.sealed or (packet.expires_at and packet.expires_at <= now):
            _seal(packet, now)
            sealed.append(packet)
    except (node_keys.KeyUnavailable, AgencyKey.DoesNotExist, Agency.DoesNotExist) as error:
        packet.attempts += 1
        return record_failure(
            packet, f"cannot seal: {error}", now, attempts=packet.attempts, last_attempt_at=now
        )
    if len(packet.sealed) > settings.ODR_MAX_PACKET_BYTES:
        dead_letter(
            packet,
            f"packet_too_large: {len(packet.sealed)} bytes, the limit is "
            f"{settings.ODR_MAX_PACKET_BYTES}",
            now,
        )
        return OutboundPacket.State.DEAD
    return None


def deliver(packet_id: int, *, now: dt.datetime | None = None) -> str | None:
    """One delivery attempt if the packet is due; returns its state after, or None if not due."""
    now = now or timezone.now()
    if not _claim(packet_id, now):
        return None
    # Even past its deadline a due packet gets its attempt: only a failure dead-letters it.
    packet = OutboundPacket.objects.select_related("recipient").get(pk=packet_id)
    sealed: list[OutboundPacket] = []
    failed = _prepare(packet, now, sealed)
    _store_sealed(sealed)
    if failed:
        return failed
    OutboundPacket.objects.filter(pk=packet.pk, state=OutboundPacket.State.QUEUED).update(
        state=OutboundPacket.State.SENT
    )
    packet.attempts += 1
    attempt = {"attempts": packet.attempts, "last_attempt_at": now}
    try:
        response = transport.post_packet(packet.recipient.inbox_url, packet.sealed)
    except transport.TransportError as error:
        return record_failure(packet, str(error), now, **attempt)
    try:
        return handle_response(packet, response, now, attempt)
    except Exception as error:
        # Whatever the partner answered, the attempt counts and the deadline still applies.
        logger.exception("unexpected answer to packet %s", packet.pid)
        return record_failure(packet, f"unexpected answer: {error!r}"[:500], now, **attempt)


def handle_response(
    packet: OutboundPacket,
    response: transport.Response,
    now: dt.datetime,
    attempt: dict,
    finished: list | None = None,
) -> str:
    """Store the partner's answer to one packet; returns the packet's state after it.

    A final answer (acknowledged or refused) is added to ``finished`` when given, for the
    caller to store with the rest of its batch (``_store_finished``); retries are stored now.
    """
    compact = (response.json or {}).get("receipt")
    if not compact:
        return record_failure(
            packet,
            f"HTTP {response.status_code} without a receipt: {response.text[:300]}",
            now,
            **attempt,
        )
    signer_keys = {
        key.kid: key.public_jwk
        for key in refdata.valid_keys(packet.recipient, AgencyKey.Use.SIGNING, now)
    }
    try:
        claims = packets.read_receipt(compact, signer_keys)
    except PacketRefused as error:
        return record_failure(packet, f"invalid receipt: {error}", now, **attempt)
    problems = []
    if claims["sha256"] != packet.sealed_sha256:
        problems.append("sha256 differs from the packet sent")
    if claims["pid"] not in (None, packet.pid):
        problems.append("pid differs")
    if claims["iss"] != packet.recipient.code:
        problems.append("issued by another agency")
    if problems:
        return record_failure(packet, "invalid receipt: " + ", ".join(problems), now, **attempt)
    receipt = {
        "receipt": compact,
        "receipt_status": claims["status"],
        "receipt_code": claims["code"],
        "receipt_at": packets.from_epoch(claims["at"]),
    }
    if claims["code"] == "waiting":
        # Stored at the partner, not applied yet: sent again (same bytes) after a backoff, it is
        # answered with its final receipt once the packets before it have arrived.
        return record_failure(
            packet, "waiting at the partner for an earlier packet", now, **attempt, **receipt
        )
    if claims["status"] == "accepted":
        state = OutboundPacket.State.ACKNOWLEDGED
    elif claims["code"] in packets.RETRYABLE_REFUSALS:
        return record_failure(
            packet,
            f"refused ({claims['code']}), will retry: {claims.get('detail', '')}",
            now,
            **attempt,
            **receipt,
        )
    else:
        state = OutboundPacket.State.REFUSED
    last_error = "" if state == OutboundPacket.State.ACKNOWLEDGED else claims.get("detail", "")
    answer = (packet.pk, state, last_error, attempt, receipt)
    if finished is None:
        _store_finished([answer])
    else:
        finished.append(answer)
    return state


def _store_finished(answers: list) -> None:
    """Store final answers (from ``handle_response``) in one round trip; a packet no longer
    open (dead-lettered or retried by hand meanwhile) is left as it is."""
    if not answers:
        return
    adapt = connection.ops.adapt_datetimefield_value
    open_states = [state.value for state in _open_states()]
    # One transaction: one commit (a WAL flush) for the batch, not one per packet.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE relay_outboundpacket SET state = %s, next_attempt_at = NULL, last_error = %s,"
            " attempts = %s, last_attempt_at = %s, receipt = %s, receipt_status = %s,"
            " receipt_code = %s, receipt_at = %s WHERE id = %s AND state IN (%s, %s)",
            [
                (
                    state,
                    last_error[:4000],
                    attempt["attempts"],
                    adapt(attempt["last_attempt_at"]),
                    receipt["receipt"],
                    receipt["receipt_status"],
                    receipt["receipt_code"],
                    adapt(receipt["receipt_at"]),
                    packet_id,
                    *open_states,
                )
                for packet_id, state, last_error, attempt, receipt in answers
            ],
        )


def _claim_due(recipient_id: int, lane: int | None, now: dt.datetime, limit: int) -> list[int]:
    """Claim up to ``limit`` due packets for one partner, oldest first; returns their ids.

    The claim moves each packet's next attempt forward by the lease, as ``_claim`` does for one.
    On PostgreSQL one statement claims them and skips rows another worker is claiming; elsewhere
    (SQLite serializes writers anyway) each candidate is claimed with ``_claim``.
    """
    lease_until = now + dt.timedelta(seconds=delivery_lease_seconds())
    states = [state.value for state in _open_states()]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE relay_outboundpacket SET next_attempt_at = %s
                WHERE id IN (
                    SELECT id FROM relay_outboundpacket
                    WHERE recipient_id = %s AND state = ANY(%s) AND next_attempt_at <= %s
                      AND (%s::integer IS NULL OR lane = %s::integer)
                    ORDER BY id LIMIT %s
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING id
                """,
                [lease_until, recipient_id, states, now, lane, lane, limit],
            )
            return sorted(row[0] for row in cursor.fetchall())
    candidates = OutboundPacket.objects.filter(
        recipient_id=recipient_id, state__in=states, next_attempt_at__lte=now
    )
    if lane is not None:
        candidates = candidates.filter(lane=lane)
    candidates = candidates.order_by("pk").values_list("pk", flat=True)[:limit]
    return [packet_id for packet_id in list(candidates) if _claim(packet_id, now)]


def _batches(outbound: list[OutboundPacket]) -> list[list[OutboundPacket]]:
    """Split into requests of at most ODR_RELAY_BATCH_MAX packets and ODR_MAX_PACKET_BYTES."""
    batches: list[list[OutboundPacket]] = []
    size = 0
    for packet in outbound:
        length = len(packet.sealed) + 4
        if (
            not batches
            or len(batches[-1]) >= settings.ODR_RELAY_BATCH_MAX
            or size + length > settings.ODR_MAX_PACKET_BYTES
        ):
            batches.append([])
            size = 0
        batches[-1].append(packet)
        size += length
    return batches


def deliver_due(
    recipient_id: int, *, lane: int | None = None, now: dt.datetime | None = None
) -> int:
    """One delivery attempt for every packet due to one partner, in batches (protocol 5.1).

    Returns how many packets were attempted (0 when nothing was due). Each packet is sealed,
    answered, retried and dead-lettered exactly as ``deliver`` does it alone; a partner that
    does not take batches gets them one request at a time.
    """
    now = now or timezone.now()
    ids = _claim_due(recipient_id, lane, now, settings.ODR_RELAY_BATCH_MAX)
    if not ids:
        return 0
    claimed = list(
        OutboundPacket.objects.select_related("recipient").filter(pk__in=ids).order_by("pk")
    )
    sealed: list[OutboundPacket] = []
    ready = [packet for packet in claimed if not _prepare(packet, now, sealed)]
    _store_sealed(sealed)
    if not ready:
        return len(claimed)
    OutboundPacket.objects.filter(
        pk__in=[packet.pk for packet in ready], state=OutboundPacket.State.QUEUED
    ).update(state=OutboundPacket.State.SENT)
    for batch in _batches(ready):
        _post_batch(batch, now)
    return len(claimed)


def _post_batch(batch: list[OutboundPacket], now: dt.datetime) -> None:
    for packet in batch:
        packet.attempts += 1
    url = batch[0].recipient.inbox_url
    try:
        responses = (
            transport.post_batch(url, [packet.sealed for packet in batch])
            if len(batch) > 1
            else [transport.post_packet(url, batch[0].sealed)]
        )
    except transport.BatchNotAccepted:
        responses = None
    except transport.TransportError as error:
        for packet in batch:
            record_failure(packet, str(error), now, attempts=packet.attempts, last_attempt_at=now)
        return
    finished: list = []
    for index, packet in enumerate(batch):
        attempt = {"attempts": packet.attempts, "last_attempt_at": now}
        try:
            response = (
                responses[index]
                if responses is not None
                else transport.post_packet(packet.recipient.inbox_url, packet.sealed)
            )
        except transport.TransportError as error:
            record_failure(packet, str(error), now, **attempt)
            continue
        try:
            handle_response(packet, response, now, attempt, finished)
        except Exception as error:
            logger.exception("unexpected answer to packet %s", packet.pid)
            record_failure(packet, f"unexpected answer: {error!r}"[:500], now, **attempt)
    _store_finished(finished)


def due_lanes(
    now: dt.datetime | None = None, *, only: tuple[int, int] | None = None
) -> list[tuple[int, int]]:
    """(partner, lane) pairs with a packet whose next attempt is due: the sweep wakes them."""
    now = now or timezone.now()
    due = OutboundPacket.objects.filter(state__in=_open_states(), next_attempt_at__lte=now)
    if only is not None:
        due = due.filter(recipient_id=only[0], lane=only[1])
    return sorted(set(due.values_list("recipient_id", "lane").distinct()))


def due_packet_ids(now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Packets whose next attempt is due: the sweep queues them again (the DB is the truth)."""
    now = now or timezone.now()
    return list(
        OutboundPacket.objects.filter(state__in=_open_states(), next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


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
    _deliver_after_commit(packet.recipient, packet.lane)
    return packet


# --- the inbox --------------------------------------------------------------------------------


@dataclass
class _Context:
    raw_sha256: str
    size: int
    pid: str = ""
    sender_code: str = ""
    type: str = ""
    dispute_reference: str = ""
    authenticated: bool = False


def receive_packet(
    raw: bytes,
    *,
    content_type: str | None = None,
    now: dt.datetime | None = None,
    declared_size: int | None = None,
) -> tuple[int, str | None, str]:
    """Check a packet in the protocol's order, apply it, and answer (HTTP status, receipt, code).

    Every answer carries a receipt signed by this node, except when it has no key to sign with.
    """
    now = now or timezone.now()
    context = _Context(raw_sha256=packets.sha256_hex(raw), size=declared_size or len(raw))
    try:
        signing_key = node_keys.current_key("sig", now)
    except (node_keys.KeyUnavailable, Agency.DoesNotExist):
        return 503, None, "receiver_not_ready"
    try:
        return _receive(raw, content_type, now, context, signing_key)
    except PacketRefused as refusal:
        return _refuse_early(refusal, context, signing_key, now)
    except Exception:
        logger.exception("inbox failed on packet %s", context.pid or context.raw_sha256)
        refusal = PacketRefused("internal_error")
        return _refuse_early(refusal, context, signing_key, now)


def receive_batch(sealed: list[str]) -> list[tuple[int, str | None, str]]:
    """Several packets from one request (protocol 5.1): each is checked, applied and receipted
    exactly as if it had come alone, in the order given, and answered in that order."""
    raws = [raw.encode("utf-8") for raw in sealed]
    if len(raws) > 1:
        answers = _receive_together(raws)
        if answers is not None:
            return answers
    return [receive_packet(raw, content_type=packets.CONTENT_TYPE) for raw in raws]


def _receive_together(raws: list[bytes]) -> list[tuple[int, str | None, str]] | None:
    """The batch's packets in one transaction: one commit, not one per packet. Each is placed
    and answered as ``receive_packet`` would (its inbox row and domain change still commit or
    roll back together); the receipts leave only after the commit. If any packet is refused
    before it is placed, needs its careful second try, or fails otherwise, nothing is kept and
    None asks the caller to take the packets one by one."""
    now = timezone.now()
    try:
        signing_key = node_keys.current_key("sig", now)
    except (node_keys.KeyUnavailable, Agency.DoesNotExist):
        return None
    try:
        with transaction.atomic():
            return [
                _receive(
                    raw,
                    packets.CONTENT_TYPE,
                    now,
                    _Context(raw_sha256=packets.sha256_hex(raw), size=len(raw)),
                    signing_key,
                    together=True,
                )
                for raw in raws
            ]
    except Exception:
        # Refused early, a careful second try needed, a database error, or a failure the
        # packet-by-packet path answers (and logs) as internal_error for that packet alone.
        return None


def _refusal_counter(source: str) -> str:
    window = int(time.time() // INBOX_REFUSAL_WINDOW_SECONDS)
    database = settings.DATABASES["default"]["NAME"]
    return f"relay:inbox-refusals:{database}:{source}:{window}"


def inbox_source_blocked(source: str) -> bool:
    """Whether an address sent too many packets that failed before their signature was checked.

    Such packets cost a decryption, a signed receipt and a refusal row each, and no partner
    sends them in numbers; a partner's own packets never count. Without the cache nobody is
    blocked: the limit protects the inbox, it must not stop the relay.
    """
    limit = settings.ODR_INBOX_REFUSALS_PER_MINUTE
    if not limit:
        return False
    try:
        return (cache.get(_refusal_counter(source)) or 0) >= limit
    except Exception:
        logger.warning("cache unavailable; the inbox refusal limit is not applied")
        return False


def count_unauthenticated_refusals(source: str, answers: list[tuple[int, str | None, str]]) -> None:
    """Count the refusals among ``answers`` whose sender could not be authenticated."""
    refused = sum(
        1
        for http_status, receipt, _code in answers
        if http_status >= 400 and receipt and decode_receipt_claims(receipt)["aud"] is None
    )
    if not refused or not settings.ODR_INBOX_REFUSALS_PER_MINUTE:
        return
    key = _refusal_counter(source)
    try:
        cache.add(key, 0, timeout=INBOX_REFUSAL_WINDOW_SECONDS * 2)
        cache.incr(key, refused)
    except Exception:
        logger.warning("cache unavailable; inbox refusals from %s not counted", source)


def _receipt(signing_key, context: _Context, status: str, code: str, detail: str, now):
    return packets.sign_receipt(
        signing_key,
        issuer=settings.ODR_NODE,
        audience=context.sender_code if context.authenticated else None,
        pid=context.pid or None,
        raw_sha256=context.raw_sha256,
        status=status,
        code=code,
        detail=detail,
        at=now,
    )


def _refuse_early(refusal: PacketRefused, context: _Context, signing_key, now):
    receipt = _receipt(signing_key, context, "refused", refusal.code, refusal.detail, now)
    InboxRefusal.objects.create(
        received_at=now,
        raw_sha256=context.raw_sha256,
        size=context.size,
        pid=context.pid,
        sender_code=context.sender_code,
        type=context.type[:30],
        dispute_reference=(context.dispute_reference or "")[:30],
        authenticated=context.authenticated,
        code=refusal.code,
        detail=refusal.detail[:4000],
        http_status=refusal.http_status,
        receipt=receipt.compact,
    )
    return refusal.http_status, receipt.compact, refusal.code


def _receive(raw: bytes, content_type, now, context: _Context, signing_key, *, together=False):
    # 1. size
    if context.size > settings.ODR_MAX_PACKET_BYTES:
        raise PacketRefused(
            "packet_too_large",
            f"{context.size} bytes; the limit is {settings.ODR_MAX_PACKET_BYTES}",
        )
    if content_type is not None:
        media = content_type.split(";")[0].strip().lower()
        if media != packets.CONTENT_TYPE:
            raise PacketRefused("unsupported_media_type", f"got {media or 'nothing'}")
    # 2. decrypt, with one of our own valid encryption keys named by the JWE
    header = packets.jwe_header(raw)
    try:
        private = node_keys.key_by_kid(header["kid"], "enc", now)
    except node_keys.KeyUnavailable as error:
        raise PacketRefused("unknown_recipient_key", str(error)) from error
    signed = packets.decrypt(raw, private)
    # 3. signature, with a pinned key of the agency that claims to have sent it
    jws_header = packets.jws_header(signed)
    key = refdata.signing_key(jws_header["kid"])
    if key is None:
        raise PacketRefused("unknown_key", f"no pinned signing key {jws_header['kid']!r}")
    if not key.is_valid_at(now):
        raise PacketRefused("key_not_valid", f"{key.kid} is expired, revoked or not yet valid")
    claims = packets.parse_claims(packets.verify(signed, key.public_jwk))
    context.pid = claims["pid"]
    context.sender_code = claims["iss"]
    context.type = claims["type"]
    context.dispute_reference = claims["dispute"] or ""
    if claims["iss"] != key.agency.code:
        raise PacketRefused("sender_mismatch", f"{key.kid} belongs to {key.agency.code}")
    context.authenticated = True
    sender = key.agency
    # 4. recipient
    if claims["aud"] != settings.ODR_NODE:
        raise PacketRefused("wrong_recipient", f"addressed to {claims['aud']}")
    # 5. an active MoU between the two, covering the dispute
    here = refdata.this_agency()
    mou = mou_in_force(sender, here, on=now.date())
    if mou is None:
        raise PacketRefused("no_active_mou", f"no active MoU between {sender.code} and us")
    if claims["mou"] != mou.reference:
        raise PacketRefused("mou_mismatch", f"the MoU in force is {mou.reference}")
    # 5 (the dispute's scope) to 9 (body schema), then applied with its inbox row: in one
    # transaction, so the dispute's row is read once, under its lock
    if together:
        # In the batch's transaction, with no savepoint: any trouble takes the batch back.
        with transaction.atomic(savepoint=False):
            return _place(signed, claims, sender, mou, here, now, context, signing_key)
    try:
        try:
            with transaction.atomic():
                return _place(signed, claims, sender, mou, here, now, context, signing_key)
        except _ApplyCarefully:
            with transaction.atomic():
                return _place(signed, claims, sender, mou, here, now, context, signing_key, True)
    except IntegrityError:
        # A concurrent delivery of the same packet won the race: answer as a replay.
        original = InboundPacket.objects.filter(pid=claims["pid"]).first()
        if original is None:
            raise
        return original.http_status, original.receipt, original.code


def _check_time(claims: dict, now: dt.datetime) -> None:
    if claims["exp"] <= packets.epoch(now):
        raise PacketRefused("expired", f"expired at {packets.from_epoch(claims['exp'])}")
    if claims["iat"] > packets.epoch(now) + packets.CLOCK_SKEW_SECONDS:
        raise PacketRefused("issued_in_future", f"issued at {packets.from_epoch(claims['iat'])}")


# The most frequent packets: each is applied by exactly one call of disputes.services
# (post_message, add_document), which is wrapped in transaction.atomic (a refusal inside it
# takes back everything it wrote) and never looks at the dispute's category or remedy.
SINGLE_SERVICE_TYPES = frozenset({PacketType.DISPUTE_MESSAGE, PacketType.DISPUTE_DOCUMENT})


def _check_dispute_scope(claims: dict, sender: Agency, here: Agency, mou: MoU) -> Dispute | None:
    """Refuse a dispute packet this pair may not exchange; returns the dispute if known here,
    read under its row lock (in the caller's transaction) for the services to apply to."""
    from disputes.services import lock_dispute_row

    if claims["type"] in SINGLE_SERVICE_TYPES or claims["type"] == PacketType.DISPUTE_FORWARD:
        # A forward almost always brings a dispute new here: no joins for a row that is not.
        local = lock_dispute_row(reference=claims["dispute"])
    else:
        query = (
            Dispute.objects.select_for_update(of=("self",))
            .select_related("category", "desired_remedy")
            .filter(reference=claims["dispute"])
            .order_by()
        )
        # Unsorted, and [:1], not first(): the reference is unique.
        local = next(iter(query[:1]), None)
    if local is not None:
        parties = {local.home_agency_id, local.partner_agency_id}
        if parties != {sender.pk, here.pk} or local.mou_id != mou.pk:
            raise PacketRefused("not_party", f"{local.reference} is not shared with {sender.code}")
    if claims["type"] != PacketType.DISPUTE_FORWARD:
        return local
    body = claims["body"]
    if local is None and not claims["dispute"].startswith(sender.reference_prefix + "-"):
        raise PacketRefused("not_party", "only the home agency forwards its own disputes")
    if body.get("home_agency") not in (None, sender.code) or body.get("partner_agency") not in (
        None,
        here.code,
    ):
        raise PacketRefused("not_party", "the forward names other agencies")
    category = refcache.by_code(Category, str(body.get("category", "")))
    purchase = body.get("purchase") if isinstance(body.get("purchase"), dict) else {}
    try:
        amount = Decimal(str(purchase.get("amount")))
    except (InvalidOperation, ValueError):
        amount = None
    if category is None and "category" in body:
        raise PacketRefused("out_of_scope", f"unknown category {body.get('category')!r}")
    merchant = body.get("merchant") if isinstance(body.get("merchant"), dict) else {}
    if "country" in merchant and merchant["country"] != here.country_id:
        raise PacketRefused("out_of_scope", "the merchant is not in this agency's country")
    if category is not None:
        problems = scope_problems(
            mou, category_id=category.pk, amount=amount, currency=str(purchase.get("currency"))
        )
        if problems:
            raise PacketRefused("out_of_scope", "; ".join(code for code, _m in problems))
    return local


def _stream(sender: Agency, reference: str) -> InboundStream:
    """The dispute's stream from this sender, created if new, locked until the commit.

    One upsert (PostgreSQL, and SQLite >= 3.35) instead of insert-or-ignore and a locked select:
    ``DO UPDATE`` locks the row it finds, as ``SELECT ... FOR UPDATE`` would.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO relay_inboundstream (sender_id, dispute_reference, last_seq, highest_seq)"
            " VALUES (%s, %s, 0, 0)"
            " ON CONFLICT (sender_id, dispute_reference)"
            " DO UPDATE SET last_seq = relay_inboundstream.last_seq"
            " RETURNING id, last_seq, highest_seq",
            [sender.pk, reference],
        )
        stream_id, last_seq, highest_seq = cursor.fetchone()
    stream = InboundStream(
        pk=stream_id,
        sender=sender,
        dispute_reference=reference,
        last_seq=last_seq,
        highest_seq=highest_seq,
    )
    stream._state.adding = False
    return stream


def _store_stream(stream: InboundStream) -> None:
    """Write the stream's sequence numbers back (its row is locked since ``_stream``): a plain
    statement, as there, once per packet."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE relay_inboundstream SET last_seq = %s, highest_seq = %s WHERE id = %s",
            [stream.last_seq, stream.highest_seq, stream.pk],
        )


def _place(signed, claims, sender, mou, here, now, context, signing_key, careful=False):
    """Steps 5 to 9 and the packet's inbox row with its change, in the caller's transaction."""
    from disputes.services import holding_lock

    stream = None
    if claims["seq"] is not None:
        # Locks the dispute's stream from this sender: its packets are placed one at a time.
        # (Always before the dispute's row, here and in _drain, so two never wait on each other.)
        stream = _stream(sender, claims["dispute"])
    # 5. the MoU's scope covers the dispute
    local = None
    if claims["type"] in packets.DISPUTE_TYPES:
        local = _check_dispute_scope(claims, sender, here, mou)
    # 6. not expired
    _check_time(claims, now)
    # 7-9. not replayed, in order, body schema
    # One query for both: this packet seen before (a replay), or its sequence number taken. Not
    # needed beyond the highest sequence number stored: a packet stored before carries the seq
    # it was stored with (it is signed), and no packet holds that seq yet. (The same pid sent
    # again with another seq would be a sender's bug; the pid's unique index refuses it.)
    earlier: list[tuple] = []
    if stream is None or claims["seq"] <= stream.highest_seq:
        seen = Q(pid=claims["pid"])
        if stream is not None:
            seen |= Q(sender=sender, dispute_reference=claims["dispute"], seq=claims["seq"])
        seen_before = InboundPacket.objects.filter(seen).order_by()
        earlier = list(seen_before.values_list("pid", "http_status", "receipt", "code")[:2])
    for pid, http_status, receipt, code in earlier:
        if pid == claims["pid"]:
            return http_status, receipt, code
    if stream is not None and (claims["seq"] <= stream.last_seq or earlier):
        raise PacketRefused("sequence_conflict", f"seq {claims['seq']} was already used")
    inbound = InboundPacket(
        pid=claims["pid"],
        type=claims["type"],
        sender=sender,
        mou_reference=claims["mou"],
        dispute_reference=claims["dispute"] or "",
        seq=claims["seq"],
        language=claims["lang"],
        issued_at=packets.from_epoch(claims["iat"]),
        expires_at=packets.from_epoch(claims["exp"]),
        signed=signed,
        raw_sha256=context.raw_sha256,
        received_at=now,
    )
    in_order = stream is None or claims["seq"] == stream.last_seq + 1
    try:
        check_body(claims)
    except PacketRefused as refusal:
        inbound.state, inbound.code, inbound.detail = "refused", refusal.code, refusal.detail
    else:
        if in_order:
            with holding_lock(local) if local is not None else contextlib.nullcontext():
                _apply_into(inbound, claims, sender, mou, now, local, careful=careful)
        else:
            inbound.state, inbound.code = InboundPacket.State.WAITING, "waiting"
    _sign_answer(inbound, signing_key, context, now)
    inbound.save()
    if stream is not None:
        stream.highest_seq = max(stream.highest_seq, claims["seq"])
        if in_order:
            stream.last_seq = claims["seq"]
            _drain(stream, now, signing_key)
        else:
            _store_stream(stream)
    return inbound.http_status, inbound.receipt, inbound.code


def _sign_answer(inbound: InboundPacket, signing_key, context: _Context, now) -> None:
    """Give the inbox row the HTTP status and signed receipt of its current state."""
    if inbound.state == InboundPacket.State.REFUSED:
        status, inbound.http_status = "refused", packets.REFUSALS[inbound.code][0]
    else:
        status, inbound.http_status = "accepted", packets.ACCEPTED[inbound.code]
    inbound.receipt = _receipt(
        signing_key, context, status, inbound.code, inbound.detail, now
    ).compact


def check_body(claims: dict) -> None:
    packets.validate_body(claims["type"], claims["body"])
    body = claims["body"]
    files = body.get("evidence", []) if claims["type"] == PacketType.DISPUTE_FORWARD else []
    if claims["type"] == PacketType.DISPUTE_DOCUMENT:
        files = [body["file"]]
    for file in files:
        packets.file_content(file)


# The inbox did not read the packet's dispute (a waiting packet applied later): look it up.
UNREAD = object()


FAST_TYPES = frozenset({PacketType.DISPUTE_MESSAGE, PacketType.DISPUTE_FORWARD})


class _ApplyCarefully(Exception):
    """Applying a message or a forward without a savepoint failed: the packet's transaction is
    taken back, and the packet is placed again, applied in a savepoint (``careful``)."""


# What the domain raises when it refuses a packet's change (ValueError: a date or number the
# schema let through that the domain cannot read).
DOMAIN_REFUSALS = (DomainError, ValidationError, PacketRefused, ValueError, InvalidOperation)


def _apply_into(
    inbound: InboundPacket,
    claims: dict,
    sender: Agency,
    mou: MoU,
    now,
    local=UNREAD,
    *,
    careful: bool = True,
) -> None:
    """Apply in a savepoint: a refusal by the domain undoes its writes, not the inbox row.

    Not ``careful``: a message or a forward (most packets) is applied with no savepoint (and a
    message with no look for an earlier copy of it); if that fails, ``_ApplyCarefully`` takes
    the whole transaction back and the caller places the packet again, carefully.
    """
    if not careful and claims["type"] in FAST_TYPES:
        try:
            apply_claims(claims, sender, mou, now, local, savepoint=False)
        except (*DOMAIN_REFUSALS, IntegrityError) as error:
            raise _ApplyCarefully from error
        inbound.state = InboundPacket.State.APPLIED
        inbound.code = "applied"
        inbound.applied_at = now
        return
    # A message or a document is one call of a service that is atomic itself: its savepoint
    # is the packet's, and a second one around it would only cost two more statements.
    own_savepoint = claims["type"] in SINGLE_SERVICE_TYPES
    try:
        with contextlib.nullcontext() if own_savepoint else transaction.atomic():
            apply_claims(claims, sender, mou, now, local)
    except DOMAIN_REFUSALS as error:
        code = getattr(error, "code", "") or "invalid"
        message = getattr(error, "message", None) or str(error)
        inbound.state = InboundPacket.State.REFUSED
        inbound.code = "domain_rejected"
        inbound.detail = f"{code}: {message}"[:4000]
    else:
        inbound.state = InboundPacket.State.APPLIED
        inbound.code = "applied"
        inbound.applied_at = now


def _drain(stream: InboundStream, now: dt.datetime, signing_key=None) -> None:
    """Apply the waiting packets that are now next in order, one after the other.

    Each gets a new receipt with its final answer (applied, or refused by the domain) in place
    of its ``waiting`` one: its sender, sending the same packet again, learns the outcome.
    """
    mou_cache: dict[str, MoU | None] = {}
    while stream.last_seq < stream.highest_seq:
        following = (
            InboundPacket.objects.select_for_update()
            .filter(
                sender=stream.sender,
                dispute_reference=stream.dispute_reference,
                seq=stream.last_seq + 1,
            )
            .first()
        )
        if following is None:
            break
        if following.state == InboundPacket.State.WAITING:
            claims = stored_claims(following)
            if claims["mou"] not in mou_cache:
                mou_cache[claims["mou"]] = MoU.objects.filter(reference=claims["mou"]).first()
            _apply_into(following, claims, stream.sender, mou_cache[claims["mou"]], now)
            signing_key = signing_key or node_keys.current_key("sig", now)
            context = _Context(
                raw_sha256=following.raw_sha256,
                size=0,
                pid=following.pid,
                sender_code=stream.sender.code,
                authenticated=True,
            )
            _sign_answer(following, signing_key, context, now)
            following.save()
        stream.last_seq += 1
    _store_stream(stream)


def stored_claims(inbound: InboundPacket) -> dict:
    """The claims of a stored packet (its signature was verified when it arrived)."""
    payload = inbound.signed.split(".")[1]
    return json.loads(packets.b64decode_segment(payload))


def apply_waiting_packets(now: dt.datetime | None = None) -> int:
    """Release waiting packets whose predecessors have been applied; returns how many streams."""
    now = now or timezone.now()
    released = 0
    waiting = (
        InboundPacket.objects.filter(state=InboundPacket.State.WAITING)
        .values_list("sender_id", "dispute_reference")
        .distinct()
    )
    for sender_id, reference in list(waiting):
        with transaction.atomic():
            stream = (
                InboundStream.objects.select_for_update()
                .filter(sender_id=sender_id, dispute_reference=reference)
                .select_related("sender")
                .first()
            )
            if stream is None:
                continue
            before = stream.last_seq
            _drain(stream, now)
            released += stream.last_seq > before
    return released


# --- applying packets to the domain -----------------------------------------------------------


def _remote_actor(sender: Agency, actor_kind: str, name: str = ""):
    from disputes.services import Actor

    if actor_kind in ("consumer", "merchant"):
        return Actor.agency(sender.code, name=name, on_behalf_of=actor_kind)
    return Actor.agency(sender.code, name=name)


def _local_dispute(claims: dict, sender: Agency, mou: MoU | None, found=UNREAD) -> Dispute:
    # The inbox's scope check read it already (under its lock, or found none), unless UNREAD.
    if found is UNREAD:
        found = Dispute.objects.filter(reference=claims["dispute"]).first()
    dispute = found
    if dispute is None:
        raise DomainError(
            _("Dispute %(reference)s is not known here.") % {"reference": claims["dispute"]},
            code="unknown_dispute",
        )
    # The agencies and MoU are in hand already: the services reuse them instead of loading them.
    here = refdata.this_agency()
    known = {sender.pk: sender, here.pk: here}
    if dispute.home_agency_id in known:
        dispute.home_agency = known[dispute.home_agency_id]
    if dispute.partner_agency_id in known:
        dispute.partner_agency = known[dispute.partner_agency_id]
    if mou is not None and dispute.mou_id == mou.pk:
        dispute.mou = mou
    return dispute


def apply_claims(
    claims: dict,
    sender: Agency,
    mou: MoU | None,
    now: dt.datetime,
    local=UNREAD,
    *,
    savepoint: bool = True,
) -> None:
    """Apply one packet to the domain through disputes.services, as the sending agency.

    ``local`` is the dispute as the inbox read it under its lock in this transaction (None: it
    is not known here), or UNREAD. ``savepoint=False``: a message is written in the caller's
    transaction as it is (no savepoint of its own, no look for an earlier copy), which the
    caller takes back whole if this raises."""
    from disputes import services as disputes

    body = claims["body"]
    packet_type = claims["type"]
    if packet_type == PacketType.PARTNER_PING:
        return
    if packet_type == PacketType.PARTNER_KEYS:
        _apply_keys(body, sender)
        return
    if packet_type == PacketType.DISPUTE_FORWARD:
        _apply_forward(claims, sender, mou, now, local)
        return
    dispute = _local_dispute(claims, sender, mou, local)
    if packet_type == PacketType.DISPUTE_MESSAGE:
        disputes.post_message(
            dispute,
            actor=_message_actor(body, sender, dispute),
            body=body["body"],
            language=body["language"],
            visible_to_consumer=body["visible_to_consumer"],
            uid=body["uid"],
            sent_at=parse_datetime(body["sent_at"]),
            savepoint=savepoint,
        )
    elif packet_type == PacketType.DISPUTE_DOCUMENT:
        file = body["file"]
        disputes.add_document(
            dispute,
            actor=_remote_actor(sender, body["actor_kind"], body["actor_name"]),
            name=file["name"],
            content=packets.file_content(file),
            note=body["note"],
            language=body["language"],
            visible_to_consumer=body["visible_to_consumer"],
        )
    elif packet_type == PacketType.DISPUTE_STATUS:
        _apply_status(body, sender, dispute)
    elif packet_type == PacketType.DISPUTE_OUTCOME:
        _apply_outcome(body, sender, dispute)


def _message_actor(body: dict, sender: Agency, dispute: Dispute, *, in_forward: bool = False):
    from disputes.services import Actor

    kind = body["author_kind"]
    if kind in ("consumer", "merchant"):
        return Actor.agency(sender.code, name=body["author_name"], on_behalf_of=kind)
    own_kind = "home_agency" if dispute.home_agency_id == sender.pk else "partner_agency"
    if kind != own_kind:
        if in_forward and Message.objects.filter(uid=body["uid"], dispute=dispute).exists():
            # The partner's own message, carried back in a later forward: already here.
            return Actor.agency(dispute.partner_agency.code, name=body["author_name"])
        raise DomainError(
            _("An agency may only write as itself, the consumer or the merchant."),
            code="not_allowed",
        )
    return Actor.agency(sender.code, name=body["author_name"])


def _apply_status(body: dict, sender: Agency, dispute: Dispute) -> None:
    from disputes import services as disputes

    actor = _remote_actor(sender, body["actor_kind"], body["actor_name"])
    transition = body["transition"]
    if transition is None:
        if body["event"] == "settlement_proposed":
            amount = body["data"].get("amount")
            disputes.propose_settlement(
                dispute,
                actor=actor,
                proposal=body["text"],
                language=body["language"],
                amount=Decimal(amount) if amount else None,
                currency=body["data"].get("currency") or "",
            )
        else:
            disputes.reject_settlement(
                dispute, actor=actor, reason=body["text"], language=body["language"]
            )
        return
    if transition not in STATUS_TEXT_ARGUMENT:
        raise DomainError(
            _("%(transition)s cannot arrive as a status packet.") % {"transition": transition},
            code="unsupported_transition",
        )
    service = disputes.TRANSITION_SERVICES[transition]
    kwargs: dict = {}
    argument = STATUS_TEXT_ARGUMENT[transition]
    if argument:
        kwargs[argument] = body["text"]
        kwargs["language"] = body["language"]
    if transition == "refer_out_of_scope":
        kwargs["body"] = _domestic_body(body["data"].get("referred_to"))
    service(dispute, actor=actor, **kwargs)


def _domestic_body(code) -> DomesticBody:
    body = DomesticBody.objects.filter(code=str(code or "")).first()
    if body is None:
        raise DomainError(
            _("Unknown domestic body %(code)s.") % {"code": code}, code="unknown_domestic_body"
        )
    return body


def _apply_outcome(body: dict, sender: Agency, dispute: Dispute) -> None:
    from disputes import services as disputes

    actor = _remote_actor(sender, body["actor_kind"], body["actor_name"])
    transition = body["transition"]
    amount = Decimal(body["settlement_amount"]) if body["settlement_amount"] else None
    if transition == "record_settlement":
        disputes.record_settlement(
            dispute,
            actor=actor,
            summary=body["summary"],
            language=body["language"],
            amount=amount,
            currency=body["settlement_currency"],
        )
    elif transition == "record_no_settlement":
        disputes.record_no_settlement(
            dispute, actor=actor, summary=body["summary"], language=body["language"]
        )
    elif transition == "accept_settlement":
        disputes.accept_settlement(dispute, actor=actor)
    else:
        disputes.refer_to_adjudication(
            dispute,
            actor=actor,
            body=_domestic_body(body["referred_to"]),
            reason=body["summary"],
            language=body["language"],
        )


def _apply_forward(claims: dict, sender: Agency, mou: MoU, now: dt.datetime, local=UNREAD) -> None:
    from disputes import services as disputes
    from disputes.evidence import store_evidence

    body = claims["body"]
    if body["reference"] != claims["dispute"]:
        raise DomainError(_("The forward names another dispute."), code="reference_mismatch")
    if local is UNREAD:
        existing = Dispute.objects.filter(reference=body["reference"]).first()
    else:
        existing = local
    actor = disputes.Actor.agency(sender.code)
    if existing is not None:
        # Forwarded again after the partner returned it.
        dispute = disputes.forward_dispute(existing, actor=actor, mou=mou)
    else:
        dispute = _create_forwarded(body, sender, mou, now)
    for file in body["evidence"]:
        store_evidence(
            dispute,
            name=file["name"],
            content=packets.file_content(file),
            uploaded_by=file["uploaded_by"],
        )
    for message in body["messages"]:
        disputes.post_message(
            dispute,
            actor=_message_actor(message, sender, dispute, in_forward=True),
            body=message["body"],
            language=message["language"],
            visible_to_consumer=message["visible_to_consumer"],
            uid=message["uid"],
            sent_at=parse_datetime(message["sent_at"]),
        )
    disputes.record_event(
        dispute,
        actor,
        TimelineEvent.Kind.PACKET,
        text=_("Case received from %(agency)s under %(mou)s.")
        % {"agency": sender.short_name, "mou": mou.reference},
        data={"packet": claims["pid"], "type": claims["type"], "mou": mou.reference},
        visible_to_consumer=False,
        relay=False,
    )


def _create_forwarded(body: dict, sender: Agency, mou: MoU, now: dt.datetime) -> Dispute:
    from disputes import services as disputes

    def one(model, code, what):
        found = refcache.by_code(model, code)
        if found is None:
            raise DomainError(
                _("Unknown %(what)s %(code)s.") % {"what": what, "code": code}, code="unknown_code"
            )
        return found

    problems = [
        one(ProblemType, code, "problem type") for code in sorted(set(body["problem_types"]))
    ]
    purchase, consumer, merchant = body["purchase"], body["consumer"], body["merchant"]
    filed_at = parse_datetime(body["filed_at"]) or now
    dispute = Dispute(
        reference=body["reference"],
        home_agency=sender,
        partner_agency=refdata.this_agency(),
        mou=mou,
        consumer_name=consumer["name"],
        # Contact details stay with the home agency (see forward_body).
        consumer_email="",
        consumer_phone="",
        consumer_country=one(Country, consumer["country"], "country"),
        consumer_language=consumer["language"],
        merchant_name=merchant["name"],
        merchant_website=merchant["website"],
        merchant_country=one(Country, merchant["country"], "country"),
        merchant_contact=merchant["contact"],
        purchase_date=parse_date(purchase["date"]),
        order_number=purchase["order_number"],
        amount=Decimal(purchase["amount"]),
        currency=purchase["currency"],
        payment_method=purchase["payment_method"],
        platform=purchase["platform"],
        category=one(Category, body["category"], "category"),
        desired_remedy=one(Remedy, body["desired_remedy"], "remedy"),
        consumer_account=body["account"]["text"],
        filing_language=body["account"]["language"],
        intake_channel=body["intake_channel"],
        status=Status.FORWARDED,
        status_changed_at=now,
        filed_at=filed_at,
    )
    # The inbox found no dispute with this reference under the stream's lock.
    disputes.check_values(dispute, exclude=["consumer_email"])
    if dispute.amount < 0:
        raise DomainError(_("The amount cannot be negative."), code="amount_negative")
    disputes.compute_deadlines(dispute, now)
    dispute.save()
    dispute.problem_types.add(*problems)  # a new dispute has none: no need to read them first
    disputes.record_event(
        dispute,
        disputes.Actor.agency(sender.code),
        TimelineEvent.Kind.STATUS_CHANGED,
        text=_("Forwarded by %(agency)s.") % {"agency": sender.short_name},
        data={"transition": "forward", "mou": mou.reference, "partner": refdata.this_agency().code},
        from_status=Status.UNDER_REVIEW,
        to_status=Status.FORWARDED,
        relay=False,
    )
    return dispute


def _apply_keys(body: dict, sender: Agency) -> None:
    from agencies.services import pin_agency_key

    for jwk in body["keys"]:
        not_before = parse_datetime(jwk["not_before"]) if jwk.get("not_before") else None
        public = {name: jwk[name] for name in ("kty", "crv", "x", "kid", "use")}
        pin_agency_key(sender, public, not_before=not_before)
    for retired in body["retire"]:
        AgencyKey.objects.filter(agency=sender, kid=retired["kid"]).update(
            not_after=parse_datetime(retired["not_after"])
        )


# --- node keys --------------------------------------------------------------------------------


@transaction.atomic
def init_node_keys(now: dt.datetime | None = None) -> list[tuple[str, str, bool]]:
    """Make sure this node has a valid signing and encryption key; returns (use, kid, created)."""
    from agencies.services import pin_agency_key

    now = now or timezone.now()
    agency = this_agency()
    held = node_keys.private_keys()
    from_env = node_keys.env_keys()
    result = []
    for use in ("sig", "enc"):
        if use in from_env:
            key = from_env[use]
            pin_agency_key(agency, node_keys.public_half(key), not_before=now)
            result.append((use, key.kid, False))
            continue
        usable = [key for key in valid_keys(agency, use, now) if key.kid in held]
        if usable:
            newest = max(usable, key=lambda key: (key.not_before, key.pk))
            result.append((use, newest.kid, False))
            continue
        key = node_keys.generate(use, now)
        node_keys.write_private(key)
        pin_agency_key(agency, node_keys.public_half(key), not_before=now)
        result.append((use, key.kid, True))
    return result


@transaction.atomic
def rotate_node_keys(
    now: dt.datetime | None = None, *, grace_seconds: int | None = None
) -> list[OutboundPacket]:
    """New keys now; the old ones stay valid for a grace period; partners are told.

    The grace period is ODR_KEY_GRACE_SECONDS unless given (shorter when a key may be exposed,
    but never under MIN_KEY_GRACE_SECONDS: the partner.keys packet itself is signed with the
    old signing key, which the partners trust, and must be delivered while it is valid).
    """
    from agencies.services import pin_agency_key

    now = now or timezone.now()
    if grace_seconds is None:
        grace_seconds = settings.ODR_KEY_GRACE_SECONDS
    if grace_seconds < MIN_KEY_GRACE_SECONDS:
        raise DomainError(
            _("The grace period must be at least %(seconds)s seconds.")
            % {"seconds": MIN_KEY_GRACE_SECONDS},
            code="grace_too_short",
        )
    agency = this_agency()
    previous_sig = node_keys.current_key("sig", now)
    grace_end = now + dt.timedelta(seconds=grace_seconds)
    old = [key for key in agency.keys.all() if key.is_valid_at(now)]
    fresh = []
    for use in ("sig", "enc"):
        key = node_keys.generate(use, now)
        node_keys.write_private(key)
        fresh.append(key)
    retire = []
    for key in old:
        if key.not_after is None or key.not_after > grace_end:
            key.not_after = grace_end
            key.save(update_fields=["not_after"])
        retire.append({"kid": key.kid, "not_after": key.not_after.isoformat()})
    start = now
    for key in fresh:
        pin_agency_key(agency, node_keys.public_half(key), not_before=start)
    body = {
        "keys": [{**node_keys.public_half(key), "not_before": start.isoformat()} for key in fresh],
        "retire": retire,
    }
    queued = []
    for partner in Agency.objects.exclude(pk=agency.pk):
        mou = active_mou_between(agency, partner, on=now.date())
        if mou is None:
            continue
        queued.append(
            queue_packet(
                PacketType.PARTNER_KEYS,
                recipient=partner,
                mou=mou,
                body=body,
                signing_kid=previous_sig.kid,
                now=now,
            )
        )
    return queued


def pin_partner_keys(agency_code: str, jwks: dict) -> list[AgencyKey]:
    """Pin a partner's public keys from its JWK set (onboarding)."""
    from agencies.services import pin_agency_jwks

    agency = Agency.objects.get(code=agency_code)
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise DomainError(_("Not a JWK set."), code="invalid_jwks")
    return pin_agency_jwks(agency, jwks)


def decode_receipt_claims(compact: str) -> dict:
    """The claims of a receipt without checking it (for display; read_receipt verifies)."""
    return json.loads(base64.urlsafe_b64decode(compact.split(".")[1] + "=="))
