"""Reading the audit trail: a case's access history and the check of the whole chain."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet

from .models import AuditEntry
from .services import GENESIS, hash_of


def history_of(dispute, limit: int = 200) -> QuerySet[AuditEntry]:
    """Who read or changed this dispute, newest first."""
    return AuditEntry.objects.filter(object_type="dispute", object_id=str(dispute.pk)).order_by(
        "-pk"
    )[:limit]


@dataclass(frozen=True)
class Break:
    entry_id: int
    reason: str


def first_break(batch_size: int = 5000) -> Break | None:
    """The first entry whose hash does not match its content or its predecessor, if any."""
    previous = GENESIS
    for entry in _in_order(batch_size):
        if entry.prev_hash != previous:
            return Break(entry.pk, "prev_hash does not match the previous entry's hash")
        if hash_of(entry) != entry.hash:
            return Break(entry.pk, "hash does not match the entry's content")
        previous = entry.hash
    return None


def _in_order(batch_size: int) -> Iterator[AuditEntry]:
    last_pk = 0
    while True:
        batch = list(AuditEntry.objects.filter(pk__gt=last_pk).order_by("pk")[:batch_size])
        if not batch:
            return
        yield from batch
        last_pk = batch[-1].pk
