"""Delivery: sealing, sending in batches, reading the partner's receipts, retries with backoff and
dead letters.

Owns: ``deliver_due`` (what the worker's loop calls per partner and lane), ``deliver`` (one
packet), ``handle_response``, ``record_failure``, ``dead_letter``, ``due_lanes``. Reads the
outbox's rows and writes only their delivery state; calls ``relay.keys``, ``relay.packets``,
``relay.refdata`` and ``relay.transport``. The SQL written out here is the relay's fast path
(docs/architecture.md, "Performance rules").
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from agencies.models import Agency, AgencyKey

from . import keys as node_keys
from . import packets, refdata, transport
from .models import OutboundPacket, PacketType
from .packets import PacketRefused
from .standing import record_pong

logger = logging.getLogger(__name__)


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


def _log_fields(packet: OutboundPacket, state: str) -> dict:
    """The packet's id (as it travels, so the partner's log lines match), partner and state."""
    cached = packet._state.fields_cache.get("recipient")
    partner = cached.code if cached is not None else str(packet.recipient_id)
    return {
        "packet_id": packet.pid,
        "partner": partner,
        "state": str(state),
        "dispute": packet.dispute_reference,
    }


def _open_states():
    return [OutboundPacket.State.QUEUED, OutboundPacket.State.SENT]


def dead_letter(packet: OutboundPacket, error: str, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    OutboundPacket.objects.filter(pk=packet.pk, state__in=_open_states()).update(
        state=OutboundPacket.State.DEAD, last_error=error[:4000], next_attempt_at=None
    )
    logger.warning(
        "packet %s dead-lettered: %s",
        packet.pid,
        error,
        extra=_log_fields(packet, OutboundPacket.State.DEAD),
    )


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
    logger.info(
        "packet %s not delivered yet, next attempt at %s: %s",
        packet.pid,
        next_at.isoformat(timespec="seconds"),
        error[:300],
        extra=_log_fields(packet, OutboundPacket.State.SENT),
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
    """Store the bytes of packets just sealed before any of them is sent (one round trip).

    Fast path (docs/architecture.md, "Performance rules"): ``executemany`` of one written-out
    UPDATE. ``bulk_update`` (one CASE per column) or one ``save()`` per packet would replace it;
    bench/fast_paths.py measures the former on a batch of 20.
    """
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
        if packet.type == PacketType.PARTNER_PING:
            record_pong(packet, attempt["last_attempt_at"], timezone.now())
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
    logger.info(
        "packet %s %s by %s (%s)",
        packet.pid,
        state,
        claims["iss"],
        claims["code"],
        extra=_log_fields(packet, state),
    )
    answer = (packet.pk, state, last_error, attempt, receipt)
    if finished is None:
        _store_finished([answer])
    else:
        finished.append(answer)
    return state


def _store_finished(answers: list) -> None:
    """Store final answers (from ``handle_response``) in one round trip; a packet no longer
    open (dead-lettered or retried by hand meanwhile) is left as it is.

    Fast path (docs/architecture.md, "Performance rules"), as ``_store_sealed``: without it, one
    conditional ``update()`` per packet of the batch, each its own round trip.
    """
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

    Fast path (docs/architecture.md, "Performance rules"): ``UPDATE ... WHERE id IN (SELECT ...
    FOR UPDATE SKIP LOCKED) RETURNING`` has no ORM form. Without it, the SQLite branch (a select,
    then one conditional update per packet) would serve PostgreSQL too: correct, one statement
    per packet more, and two workers' claims would wait on each other instead of skipping.
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
