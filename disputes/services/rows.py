"""Reading a dispute's row under its lock, once per change.

Owns: ``lock_dispute`` (the row a change works on, reusing the related rows its caller holds),
``lock_dispute_row`` (the hand-written fast path), ``holding_lock`` (a row the caller read under
its lock, handed to the services) and ``check_values``. Every write in the domain reads its
dispute through here; docs/architecture.md ("Performance rules") says why the fast path exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection, transaction

from ..models import Dispute

_LOCKED_RELATED = ("home_agency", "partner_agency", "mou", "category", "desired_remedy")
_RELATED_FIELDS = (*_LOCKED_RELATED, "consumer_country", "merchant_country")


def check_values(dispute: Dispute, *, exclude: Iterable[str] = ()) -> None:
    """Field checks only, for a new dispute built from related rows just read.

    Uniqueness, the related rows' existence and the constraints are left to the database: their
    checks in ``full_clean`` would cost a dozen queries per dispute. Raises ValidationError.
    """
    dispute.full_clean(
        exclude=[*_RELATED_FIELDS, *exclude], validate_unique=False, validate_constraints=False
    )


# A dispute its caller read with SELECT ... FOR UPDATE in the transaction it is in: the relay's
# inbox has to read the row before applying a packet (the packet's scope is checked first), and
# the services then use that row instead of reading it a second time.
_held_lock: ContextVar[Dispute | None] = ContextVar("held_dispute_lock", default=None)


@contextmanager
def holding_lock(dispute: Dispute) -> Iterator[Dispute]:
    """Within this block, the services take ``dispute`` as read under its row lock.

    The caller must have read it with ``select_for_update()`` in the current transaction, and
    must not use it after a rollback to a savepoint inside the block (its fields may then say
    more than the database does).

    Fast path (docs/architecture.md, "Performance rules"): only the relay's inbox uses it, which
    must read the row to check a packet's scope before the services apply the packet. Without
    it the services read the row a second time under the lock they already hold: one statement
    (``lock_dispute_row``) per applied packet.
    """
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError("holding_lock needs a transaction")
    token = _held_lock.set(dispute)
    try:
        yield dispute
    finally:
        _held_lock.reset(token)


def _row_columns() -> tuple[str, dict[int, tuple[list, Any]]]:
    """The SELECT list of a dispute's own row, and the converters its values need on this
    database (as the ORM's compiler finds them), by column position."""
    fields = Dispute._meta.concrete_fields
    select = ", ".join(connection.ops.quote_name(each.column) for each in fields)
    converters = {}
    for index, each in enumerate(fields):
        column = each.get_col(Dispute._meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters[index] = (found, column)
    return select, converters


_row_columns_by_vendor: dict[str, tuple[str, dict[int, tuple[list, Any]]]] = {}


def lock_dispute_row(*, pk: int | None = None, reference: str | None = None) -> Dispute | None:
    """The dispute's own row (no related rows), read under its row lock until the transaction
    ends; None if there is no such dispute.

    One statement written out, and the instance built from it as the ORM builds one: every
    message and document, written here or applied from a partner's packet, reads its dispute
    this way, and building the ORM's query for the row's 40 columns (or a raw() query's column
    mapping) cost several times the database's answer.

    Fast path (docs/architecture.md, "Performance rules"): it relies on ``Model.from_db`` and the
    fields' database converters, as the ORM's compiler uses them. To remove it, use
    ``Dispute.objects.select_for_update(of=("self",)).get(...)``; bench/fast_paths.py measures
    what that costs per call (docs/performance.md, "Fast paths").
    """
    if (pk is None) == (reference is None):
        raise TypeError("give pk or reference")
    if connection.vendor not in _row_columns_by_vendor:
        _row_columns_by_vendor[connection.vendor] = _row_columns()
    select, converters = _row_columns_by_vendor[connection.vendor]
    column, value = ("id", pk) if pk is not None else ("reference", reference)
    table = connection.ops.quote_name(Dispute._meta.db_table)
    sql = f"SELECT {select} FROM {table} WHERE {connection.ops.quote_name(column)} = %s"  # noqa: S608
    if connection.features.has_select_for_update:  # not SQLite, which locks the whole database
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, (functions, expression) in converters.items():
        for convert in functions:
            values[index] = convert(values[index], expression, connection)
    return Dispute.from_db(connection.alias, None, values)


def lock_dispute(dispute: Dispute) -> Dispute:
    """The dispute's row, read again under a lock, with its agencies, MoU, category and remedy.

    The lock protects the dispute's own row. The related reference rows the caller already
    holds (for the same ids) are reused rather than joined again: that join over five translated
    tables was the most expensive statement of every change applied from a partner's packet.
    A row read under its lock by the caller (``holding_lock``) is used as it is.
    """
    read_by_caller = _held_lock.get()
    if read_by_caller is not None and read_by_caller.pk == dispute.pk:
        return read_by_caller
    held = {}
    for name in _LOCKED_RELATED:
        field = Dispute._meta.get_field(name)
        if field.is_cached(dispute):
            held[name] = field.get_cached_value(dispute)
    missing = [name for name in _LOCKED_RELATED if name not in held]
    related = [
        f"{name}__country" if name in ("home_agency", "partner_agency") else name
        for name in missing
    ]
    if related:
        query = Dispute.objects.select_for_update(of=("self",)).select_related(*related)
        locked = query.get(pk=dispute.pk)
    else:
        locked = lock_dispute_row(pk=dispute.pk)
        if locked is None:
            raise Dispute.DoesNotExist(f"no dispute {dispute.pk}")
    for name, value in held.items():
        field = Dispute._meta.get_field(name)
        # One that changed since the caller read it is loaded from the database when used.
        if (value.pk if value is not None else None) == getattr(locked, field.attname):
            field.set_cached_value(locked, value)
    return locked
