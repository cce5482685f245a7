"""Placing an authenticated packet: checks 5 to 9 (the dispute's scope, expiry, replay, sequence,
body schema), then its inbox row stored with the change it carries, in one transaction.

Owns: the dispute's stream from a sender (packets applied strictly in sequence order; a packet
ahead of its turn waits, and is applied when the gap closes: ``apply_waiting_packets``), the
inbox row and its receipt, and the choice between applying a packet without a savepoint (most
messages and forwards) and carefully, in one. Calls ``relay.apply`` for the change itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from agencies import refcache
from agencies.models import Agency, Category, MoU
from agencies.selectors import (
    scope_problems,
)
from disputes.models import Dispute
from disputes.services import holding_lock, lock_dispute_row
from odr.errors import DomainError

from . import keys as node_keys
from . import packets, refdata
from .apply import UNREAD, apply_claims
from .models import InboundPacket, InboundStream, PacketType
from .packets import PacketRefused
from .standing import pong_detail

logger = logging.getLogger(__name__)


@dataclass
class InboxContext:
    raw_sha256: str
    size: int
    pid: str = ""
    sender_code: str = ""
    type: str = ""
    dispute_reference: str = ""
    authenticated: bool = False


def signed_receipt(signing_key, context: InboxContext, status: str, code: str, detail: str, now):
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

    Fast path (docs/architecture.md, "Performance rules"): the instance is built by hand from
    the upsert's answer. To remove it, ``get_or_create`` then ``select_for_update().get()``: two
    or three statements per incoming packet instead of one (bench/fast_paths.py).
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
    """Write the stream's sequence numbers back (its row is locked since ``_stream``).

    Fast path (docs/architecture.md, "Performance rules"): one UPDATE written out, once per
    incoming packet, as ``_stream`` reads the row. Through the ORM (``filter().update()``),
    together with the outbox's next sequence number, relay throughput fell by 8 to 11 % in
    alternating runs on 2026-12-06 (docs/performance.md).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE relay_inboundstream SET last_seq = %s, highest_seq = %s WHERE id = %s",
            [stream.last_seq, stream.highest_seq, stream.pk],
        )


def place(signed, claims, sender, mou, here, now, context, signing_key, careful=False):
    """Steps 5 to 9 and the packet's inbox row with its change, in the caller's transaction."""
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
            _log_received(claims, sender, f"received again, answered as before ({code})")
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
            if claims["type"] == PacketType.PARTNER_PING and inbound.state != "refused":
                inbound.detail = pong_detail(mou)
        else:
            inbound.state, inbound.code = InboundPacket.State.WAITING, "waiting"
    _sign_answer(inbound, signing_key, context, now)
    inbound.save()
    _log_received(claims, sender, f"{inbound.state} ({inbound.code})", inbound.state)
    if stream is not None:
        stream.highest_seq = max(stream.highest_seq, claims["seq"])
        if in_order:
            stream.last_seq = claims["seq"]
            _drain(stream, now, signing_key)
        else:
            _store_stream(stream)
    return inbound.http_status, inbound.receipt, inbound.code


def _log_received(claims: dict, sender: Agency, outcome: str, state: str = "") -> None:
    """One line once the inbox row is committed (a batch taken back and placed again one by one
    logs each packet once), under the packet's own id as the sender logged it."""
    pid, kind = claims["pid"], claims["type"]
    fields = {
        "packet_id": pid,
        "partner": sender.code,
        "state": str(state or "replayed"),
        "dispute": claims["dispute"] or "",
    }
    transaction.on_commit(
        lambda: logger.info(
            "packet %s from %s, %s: %s", pid, fields["partner"], kind, outcome, extra=fields
        )
    )


def _sign_answer(inbound: InboundPacket, signing_key, context: InboxContext, now) -> None:
    """Give the inbox row the HTTP status and signed receipt of its current state."""
    if inbound.state == InboundPacket.State.REFUSED:
        status, inbound.http_status = "refused", packets.REFUSALS[inbound.code][0]
    else:
        status, inbound.http_status = "accepted", packets.ACCEPTED[inbound.code]
    inbound.receipt = signed_receipt(
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


FAST_TYPES = frozenset({PacketType.DISPUTE_MESSAGE, PacketType.DISPUTE_FORWARD})


class ApplyCarefully(Exception):
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
    message with no look for an earlier copy of it); if that fails, ``ApplyCarefully`` takes
    the whole transaction back and the caller places the packet again, carefully.

    Fast path (docs/architecture.md, "Performance rules"): to remove it, always ``careful``:
    two statements more per message or forward (the savepoint and its release) and the look-up.
    """
    if not careful and claims["type"] in FAST_TYPES:
        try:
            apply_claims(claims, sender, mou, now, local, savepoint=False)
        except (*DOMAIN_REFUSALS, IntegrityError) as error:
            raise ApplyCarefully from error
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
            revoked = _revoked_signer(following, now)
            if revoked:
                # Signed with a key revoked while the packet waited: refused from that moment.
                following.state = InboundPacket.State.REFUSED
                following.code, following.detail = "key_not_valid", revoked
            else:
                _apply_into(following, claims, stream.sender, mou_cache[claims["mou"]], now)
            signing_key = signing_key or node_keys.current_key("sig", now)
            context = InboxContext(
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


def _revoked_signer(inbound: InboundPacket, now: dt.datetime) -> str:
    """Why a stored packet's signing key no longer counts (revoked since it arrived), or ""."""
    kid = packets.jws_header(inbound.signed)["kid"]
    key = refdata.signing_key(kid)
    if key is None or (key.revoked_at is not None and key.revoked_at <= now):
        return f"{kid} was revoked while the packet waited"
    return ""


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
