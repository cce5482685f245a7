"""Reference rows that almost never change, kept in each process for a few seconds.

Agencies, their pinned keys and MoUs (``relay.refdata``), and the code lists a case is made of
(countries, categories, remedies, problem types), the exchange rates, the categories an MoU
covers and the public holidays its deadlines skip: every forwarded case and every packet reads
them, and building those ORM queries over translated tables cost more CPU than the rest of the
work. Keeping them is safe because:

- a save or delete of one of these rows (or a change of an MoU's categories) clears the cache of
  the process that made it at once, and again when its transaction commits (so a read by
  another thread in between cannot keep the old rows);
- every other process (the other gunicorn workers, the Celery pool) drops its copy at most
  ``SECONDS`` after it was read: a key revoked in the admin is refused everywhere within that
  bound, and at once in the process that revoked it;
- the cache is filled only with committed rows: outside a transaction, or inside one that has
  not changed any of these rows (a transaction sees its own uncommitted writes, which a rollback
  could take back); a fill that overlapped a change is not kept;
- what is kept is the rows, not a decision: validity windows of keys and MoU dates are checked
  against the time of each use.

Writes that send no signals (``QuerySet.update``, ``bulk_create``) are seen when the entries
expire. Callers must treat the returned objects as read-only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import connection, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from .models import Agency, AgencyKey, Category, Country, ExchangeRate, MoU, PublicHoliday

SECONDS = 5.0

T = TypeVar("T")

_lock = threading.Lock()
_entries: dict[tuple, tuple[float, object]] = {}
_generation = 0


def _may_fill() -> bool:
    if not connection.in_atomic_block:
        connection._refcache_changed_in = None
        return True
    # Did this transaction change reference rows? Its outermost atomic block stands for it
    # (the mark is cleared when it commits; after a rollback it stays until the next read
    # outside a transaction, which at worst leaves a later transaction of the same decorated
    # function reading without the cache).
    return getattr(connection, "_refcache_changed_in", None) is not connection.atomic_blocks[0]


def cached(key: tuple, load: Callable[[], T]) -> T:
    """The value kept under ``key``, or ``load()`` (kept if it may be)."""
    now = time.monotonic()
    entry = _entries.get(key)
    if entry is not None and entry[0] > now:
        return entry[1]
    generation = _generation
    value = load()
    if _may_fill():
        with _lock:
            # Not if a change was saved while we read: our rows may predate it.
            if generation == _generation:
                _entries[key] = (now + SECONDS, value)
    return value


def clear() -> None:
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


def _committed() -> None:
    connection._refcache_changed_in = None
    clear()


def _changed(sender, **kwargs) -> None:
    if connection.in_atomic_block:
        connection._refcache_changed_in = connection.atomic_blocks[0]
    clear()
    transaction.on_commit(_committed, robust=True)


def watch(model) -> None:
    """Clear the cache whenever a row of ``model`` is saved or deleted."""
    name = f"{model._meta.app_label}.{model.__name__}"
    post_save.connect(_changed, sender=model, dispatch_uid=f"refcache-save-{name}")
    post_delete.connect(_changed, sender=model, dispatch_uid=f"refcache-delete-{name}")


for _model in (Agency, AgencyKey, MoU, Country, Category, ExchangeRate, PublicHoliday):
    watch(_model)
m2m_changed.connect(_changed, sender=MoU.categories.through, dispatch_uid="refcache-mou-categories")


def by_code(model: type[T], code: str) -> T | None:
    """The row of a code list (Country, Category, Remedy, ProblemType…) with this code."""
    rows = cached(
        ("codes", model._meta.label), lambda: {row.code: row for row in model.objects.all()}
    )
    return rows.get(code)


def newest_rate(currency: str) -> ExchangeRate | None:
    return cached(
        ("rate", currency),
        lambda: ExchangeRate.objects.filter(currency=currency).order_by("-as_of").first(),
    )


def agencies_in(country_id: str) -> list[Agency]:
    """The agencies of a country, by code."""
    return cached(
        ("agencies-in", country_id),
        lambda: list(Agency.objects.filter(country_id=country_id).order_by("code")),
    )


def active_mous(first_id: int, second_id: int) -> list[MoU]:
    """The active MoUs between two agencies (in force or not on a given day), with both
    agencies and their countries."""
    low, high = sorted((first_id, second_id))
    return cached(
        ("mous", low, high),
        lambda: list(
            MoU.objects.filter(agency_a_id=low, agency_b_id=high, status=MoU.Status.ACTIVE)
            .select_related("agency_a__country", "agency_b__country")
            .order_by("pk")
        ),
    )


def mou_category_ids(mou: MoU) -> frozenset[int]:
    """The categories an MoU covers (empty: all)."""
    return cached(
        ("mou-categories", mou.pk),
        lambda: frozenset(mou.categories.values_list("pk", flat=True)),
    )
