"""What every packet needs and almost never changes, kept in each process: this agency, agencies'
pinned keys and the MoUs in force.

Read for every packet, these rows cost about a third of the inbox's CPU (ORM query building over
translated tables, more than the cryptography). Keeping them is safe because:

- a save or delete of an Agency, AgencyKey or MoU clears the cache of the process that made it at
  once, and again when its transaction commits (so a read by another thread in between cannot
  keep the old rows);
- every other process (the other gunicorn workers, the Celery pool) drops its copy at most
  ``REFDATA_SECONDS`` after it was read: a key revoked in the admin is refused everywhere within
  that bound, and at once in the process that revoked it;
- the cache is filled only outside a transaction (autocommit reads see committed rows only), so
  rows a rolled-back transaction wrote, or a test's rolled-back fixtures, are never kept;
- what is kept is the rows, not a decision: validity windows of keys and MoU dates are checked
  against the packet's time on every call.

Callers must treat the returned objects as read-only.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from agencies.models import Agency, AgencyKey, MoU

REFDATA_SECONDS = 5.0

_lock = threading.Lock()
_entries: dict[tuple, tuple[float, object]] = {}
_generation = 0


def _cached(key: tuple, load):
    now = time.monotonic()
    entry = _entries.get(key)
    if entry is not None and entry[0] > now:
        return entry[1]
    generation = _generation
    value = load()
    if not connection.in_atomic_block:
        with _lock:
            # Not if a change was saved while we read: our rows may predate it.
            if generation == _generation:
                _entries[key] = (now + REFDATA_SECONDS, value)
    return value


def clear() -> None:
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


def _changed(sender, **kwargs) -> None:
    clear()
    transaction.on_commit(clear, robust=True)


for _model in (Agency, AgencyKey, MoU):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"relay-refdata-{_model.__name__}")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"relay-refdata-d-{_model.__name__}")


def this_agency() -> Agency:
    """This node's agency (``ODR_NODE``), with its country."""
    code = settings.ODR_NODE
    return _cached(
        ("agency", code),
        lambda: Agency.objects.select_related("country").get(code=code),
    )


def _keys_of(agency_id: int) -> list[AgencyKey]:
    return _cached(
        ("keys", agency_id),
        lambda: list(AgencyKey.objects.filter(agency_id=agency_id).order_by("pk")),
    )


def valid_keys(agency: Agency, use: str, at: dt.datetime | None = None) -> list[AgencyKey]:
    """As ``agencies.selectors.valid_keys``: the agency's keys for a use valid at ``at``."""
    at = at or timezone.now()
    return [key for key in _keys_of(agency.pk) if key.use == use and key.is_valid_at(at)]


def own_key_row(kid: str, use: str) -> AgencyKey | None:
    """This node's pinned public half of one of its keys, valid or not."""
    try:
        agency = this_agency()
    except Agency.DoesNotExist:
        return None
    return next((k for k in _keys_of(agency.pk) if k.kid == kid and k.use == use), None)


def signing_key(kid: str) -> AgencyKey | None:
    """The pinned signing key with this kid, of whichever agency, with its agency."""

    def load():
        key = AgencyKey.objects.filter(kid=kid, use=AgencyKey.Use.SIGNING)
        return key.select_related("agency").first()

    return _cached(("sig", kid), load)


def active_mou_between(first: Agency, second: Agency, on: dt.date | None = None) -> MoU | None:
    """As ``agencies.selectors.active_mou_between``: the MoU in force between two agencies."""
    on = on or timezone.now().date()
    low, high = sorted((first.pk, second.pk))
    active = _cached(
        ("mous", low, high),
        lambda: list(
            MoU.objects.filter(agency_a_id=low, agency_b_id=high, status=MoU.Status.ACTIVE)
            .select_related("agency_a__country", "agency_b__country")
            .order_by("pk")
        ),
    )
    for mou in active:
        if (mou.effective_from is None or mou.effective_from <= on) and (
            mou.effective_until is None or mou.effective_until >= on
        ):
            return mou
    return None
