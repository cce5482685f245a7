"""Writing the audit trail: one entry per read or change, each chained to the one before."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from .models import AuditEntry

GENESIS = "0" * 64
# Any fixed number: the PostgreSQL advisory lock that puts appends in one order.
CHAIN_LOCK = 0x0D2A_0D17


def entry_hash(
    *,
    prev_hash: str,
    at,
    actor: str,
    user_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    object_ref: str,
    detail: str,
) -> str:
    """SHA-256 over the entry's fields and the previous hash, in one canonical JSON text."""
    body = json.dumps(
        [
            prev_hash,
            at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            actor,
            user_id,
            action,
            object_type,
            object_id,
            object_ref,
            detail,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def hash_of(entry: AuditEntry) -> str:
    return entry_hash(
        prev_hash=entry.prev_hash,
        at=entry.at,
        actor=entry.actor,
        user_id=entry.user_id_at_time,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        object_ref=entry.object_ref,
        detail=entry.detail,
    )


def actor_of(who: Any) -> tuple[str, int | None]:
    """A name and user id for a user, an API client, or a plain name (system, partner agency)."""
    if who is None:
        return "system", None
    if isinstance(who, str):
        return who, None
    if hasattr(who, "get_username"):
        return f"user:{who.get_username()}", who.pk
    return f"{type(who).__name__.lower()}:{who}", None


def record(
    who: Any,
    action: str,
    object_type: str,
    object_id: Any,
    object_ref: str = "",
    detail: str = "",
) -> AuditEntry:
    """Append one entry. Appends wait for each other so that each sees the true last hash."""
    actor, user_id = actor_of(who)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
        # A statement of its own, after the lock: its snapshot sees the entry of whoever held
        # the lock before (one statement would read with a snapshot taken before the wait).
        last = AuditEntry.objects.order_by("-pk").values_list("hash", flat=True).first()
        prev_hash = last or GENESIS
        entry = AuditEntry(
            at=timezone.now(),
            actor=actor[:200],
            user_id_at_time=user_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id)[:40],
            object_ref=object_ref[:60],
            detail=detail[:500],
            prev_hash=prev_hash,
        )
        entry.hash = hash_of(entry)
        entry.save(force_insert=True)
    return entry


def record_read(who: Any, dispute, what: str) -> AuditEntry:
    """``dispute``: a Dispute, or the reference of one."""
    if isinstance(dispute, str):
        from disputes.models import Dispute

        dispute = Dispute.objects.only("pk", "reference").get(reference=dispute)
    return record(who, AuditEntry.Action.READ, "dispute", dispute.pk, dispute.reference, what)


def record_change(who: Any, dispute, what: str) -> AuditEntry:
    return record(who, AuditEntry.Action.CHANGE, "dispute", dispute.pk, dispute.reference, what)
