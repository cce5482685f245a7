"""The inbox: a sealed packet from a partner checked in the protocol's order (docs/protocol.md,
section 6), answered with a signed receipt.

Owns: ``receive_packet`` and ``receive_batch`` (what relay.views calls), checks 1 to 5 (size and
media type, decryption, signature, recipient, MoU in force), early refusals with their
``InboxRefusal`` rows, and the per-address limit on unauthenticated refusals. Hands an
authenticated packet to ``relay.placement``, which places and applies it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from agencies.models import Agency
from agencies.selectors import (
    mou_in_force,
)

from . import keys as node_keys
from . import packets, refdata
from .models import InboundPacket, InboxRefusal
from .packets import PacketRefused
from .placement import ApplyCarefully, InboxContext, place, signed_receipt
from .standing import mou_for_packet

logger = logging.getLogger(__name__)


INBOX_REFUSAL_WINDOW_SECONDS = 60


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
    context = InboxContext(raw_sha256=packets.sha256_hex(raw), size=declared_size or len(raw))
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
    None asks the caller to take the packets one by one.

    Fast path (docs/architecture.md, "Performance rules"): without it every packet of a batch
    is placed alone (``receive_packet``), with its own commit, a WAL flush each.
    """
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
                    InboxContext(raw_sha256=packets.sha256_hex(raw), size=len(raw)),
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
        if http_status >= 400 and receipt and packets.decode_receipt_claims(receipt)["aud"] is None
    )
    if not refused or not settings.ODR_INBOX_REFUSALS_PER_MINUTE:
        return
    key = _refusal_counter(source)
    try:
        cache.add(key, 0, timeout=INBOX_REFUSAL_WINDOW_SECONDS * 2)
        cache.incr(key, refused)
    except Exception:
        logger.warning("cache unavailable; inbox refusals from %s not counted", source)


def _refuse_early(refusal: PacketRefused, context: InboxContext, signing_key, now):
    receipt = signed_receipt(signing_key, context, "refused", refusal.code, refusal.detail, now)
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


def _receive(raw: bytes, content_type, now, context: InboxContext, signing_key, *, together=False):
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
    # (a ping under any MoU state; open cases under a suspended or terminating one: standing.py)
    mou = mou_for_packet(claims, sender, here, mou_in_force(sender, here, on=now.date()), now)
    # 5 (the dispute's scope) to 9 (body schema), then applied with its inbox row: in one
    # transaction, so the dispute's row is read once, under its lock
    if together:
        # In the batch's transaction, with no savepoint: any trouble takes the batch back.
        with transaction.atomic(savepoint=False):
            return place(signed, claims, sender, mou, here, now, context, signing_key)
    try:
        try:
            with transaction.atomic():
                return place(signed, claims, sender, mou, here, now, context, signing_key)
        except ApplyCarefully:
            with transaction.atomic():
                return place(signed, claims, sender, mou, here, now, context, signing_key, True)
    except IntegrityError:
        # A concurrent delivery of the same packet won the race: answer as a replay.
        original = InboundPacket.objects.filter(pid=claims["pid"]).first()
        if original is None:
            raise
        return original.http_status, original.receipt, original.code
