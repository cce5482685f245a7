"""Writes of the intake API: clients and their keys, idempotent requests, filings and evidence."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.selectors import this_agency
from disputes import services as dispute_services
from disputes.models import Dispute, Evidence, IntakeChannel
from odr.errors import DomainError, InvalidInput

from .models import ApiClient, ApiFiling, IdempotencyRecord, Scope

KEY_PREFIX_LENGTH = 12  # "odr_" and eight random characters, kept in clear to find the row


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    prefix = "odr_" + secrets.token_hex(4)
    return prefix, f"{prefix}.{secrets.token_urlsafe(32)}"


def create_client(name: str, scopes: Iterable[str]) -> tuple[ApiClient, str]:
    """Register a client filing into this node's agency; returns it and its key, shown once."""
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown:
        raise InvalidInput(
            _("Unknown scopes: %(scopes)s.") % {"scopes": ", ".join(unknown)}, code="unknown_scope"
        )
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("Give the client a name."), code="required")
    if ApiClient.objects.filter(name=name).exists():
        raise InvalidInput(
            _("A client named %(name)s already exists.") % {"name": name}, code="duplicate_name"
        )
    prefix, key = _new_key()
    client = ApiClient.objects.create(
        name=name, agency=this_agency(), key_prefix=prefix, key_hash=hash_key(key), scopes=scopes
    )
    return client, key


def rotate_key(client: ApiClient) -> str:
    """Replace a client's key; the old one stops working at once. Returns the new key."""
    prefix, key = _new_key()
    client.key_prefix = prefix
    client.key_hash = hash_key(key)
    client.save(update_fields=["key_prefix", "key_hash"])
    return key


def revoke_client(client: ApiClient) -> None:
    client.is_active = False
    client.save(update_fields=["is_active"])


# Keys that checked out, by the key's hash: (valid until, on time.monotonic(); the client).
# Any save or delete of an ApiClient in this process (deactivation, key rotation, new scopes)
# clears it at once and again at commit; a change made by another process (the admin on
# another worker, `manage.py api_client deactivate`) applies here within
# ODR_API_KEY_CACHE_SECONDS (5 s by default).
_known_keys: dict[str, tuple[float, ApiClient]] = {}
_known_keys_generation = 0


def forget_known_keys(**_kwargs) -> None:
    global _known_keys_generation
    _known_keys_generation += 1
    _known_keys.clear()
    if connection.in_atomic_block:
        # Other threads of this process could read the old row again until the change commits.
        transaction.on_commit(forget_known_keys)


post_save.connect(forget_known_keys, sender=ApiClient, dispatch_uid="api-known-keys-saved")
post_delete.connect(forget_known_keys, sender=ApiClient, dispatch_uid="api-known-keys-deleted")


def authenticate_key(key: str) -> ApiClient | None:
    """The active client holding ``key``, or None. Hashes are compared in constant time."""
    prefix = key.split(".", 1)[0]
    if len(prefix) != KEY_PREFIX_LENGTH:
        return None
    digest = hash_key(key)
    known = _known_keys.get(digest)
    if known is not None and known[0] > time.monotonic():
        client = known[1]
    else:
        client = _client_holding(prefix, digest)
        if client is None:
            return None
    now = timezone.now()
    # Written at most once a minute so that busy clients don't turn every request into a write.
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
    # A copy per request: the remembered instance is shared by the threads of the process.
    return copy.copy(client)


def _client_holding(prefix: str, digest: str) -> ApiClient | None:
    """Read the active client with this key prefix and hash; remember it if it was read outside
    a transaction (whose rollback could undo what was read) and no change came meanwhile."""
    generation = _known_keys_generation
    # One narrow query, no joins: compiling a select_related over the translated agency and
    # country columns cost more CPU than the rest of a simple request.
    client = (
        ApiClient.objects.only(
            "name", "agency_id", "key_prefix", "key_hash", "scopes", "is_active", "last_used_at"
        )
        .filter(key_prefix=prefix, is_active=True)
        .first()
    )
    if client is None or not hmac.compare_digest(client.key_hash, digest):
        return None
    from .selectors import agency_by_id

    client.agency = agency_by_id(client.agency_id)
    if not connection.in_atomic_block and generation == _known_keys_generation:
        _known_keys[digest] = (time.monotonic() + settings.ODR_API_KEY_CACHE_SECONDS, client)
    return client


# --- idempotency ------------------------------------------------------------------------------


def fingerprint(method: str, path: str, payload: Any) -> str:
    """A stable hash of what a request asks for (method, path and its parsed content)."""
    canonical = json.dumps(
        {"method": method, "path": path, "payload": payload},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    http_status = 422


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict
    replayed: bool = False


def stored_outcome(client: ApiClient, key: str, request_fingerprint: str) -> Outcome | None:
    """The stored answer for a retried request, None for a new key; 422 if the key was reused."""
    record = IdempotencyRecord.objects.filter(client=client, key=key).first()
    if record is None:
        return None
    if record.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(
            _(
                "This Idempotency-Key was already used for a different request. "
                "Use a new key for a new request."
            ),
            details={"idempotency_key": key},
        )
    return Outcome(record.response_status or 200, record.response_body or {}, replayed=True)


class _KeyTaken(Exception):
    """The idempotency record's insert met a record with the same (client, key)."""


def _insert_record(*, reserve: bool = False, **fields) -> IdempotencyRecord | None:
    try:
        if reserve:
            return IdempotencyRecord.objects.create(**fields)
        _insert(IdempotencyRecord, created_at=timezone.now(), **fields)
        return None
    except IntegrityError as error:
        raise _KeyTaken from error


def _insert(model: type[Model], **values: Any) -> None:
    """INSERT one row with these field values (a field's name or its column's attname, e.g.
    ``client_id``), adapted by the model's fields; nothing else is filled in.

    Without ``Model.save()``: no signals (ApiFiling and IdempotencyRecord have no receivers),
    no instance, half the CPU of ``objects.create()``. For the writes at the end of a filing,
    made while the agency's counter row is locked (``disputes.services.file_dispute``).

    Fast path (docs/architecture.md, "Performance rules"): to remove it, ``objects.create()``
    for both rows; bench/intake.py measures a filing with it.
    """
    fields = [model._meta.get_field(name) for name in values]
    quote = connection.ops.quote_name
    # Identifiers from the model's metadata, quoted; every value is a parameter.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(model._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    params = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, values.values(), strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def run_idempotent(
    client: ApiClient,
    key: str,
    *,
    method: str,
    path: str,
    request_fingerprint: str,
    produce: Callable[[], tuple[int, dict]],
    reserve: bool = False,
) -> Outcome:
    """Run ``produce`` once per (client, key); a retry with the same request gets the same answer.

    The record is inserted with the answer at the end of the transaction that does the work:
    one write. Of concurrent duplicates only one can commit it (the unique index on (client,
    key)); the others' inserts wait for that commit, fail, roll back everything they did, and
    answer with the stored response. If the work fails, no record is left, so the client may
    retry with the same key.

    ``reserve=True`` inserts the record before the work and adds the answer after it, so that a
    concurrent duplicate waits at the start instead of doing the work in vain: for work with
    effects that a rollback does not undo (evidence files written to storage).
    """
    fields = {
        "client_id": client.pk,
        "key": key,
        "method": method,
        "path": path,
        "fingerprint": request_fingerprint,
    }
    # The duplicate's failed insert rolls back the whole transaction instead of a savepoint
    # around the insert: two statements fewer for every request that is not a retry.
    try:
        with transaction.atomic():
            if reserve:
                record = _insert_record(reserve=True, **fields)
                status, body = produce()
                IdempotencyRecord.objects.filter(pk=record.pk).update(
                    response_status=status, response_body=body
                )
            else:
                status, body = produce()
                _insert_record(**fields, response_status=status, response_body=body)
    except _KeyTaken as taken:
        # A concurrent duplicate committed first: answer as it did.
        outcome = stored_outcome(client, key, request_fingerprint)
        if outcome is None:
            raise taken.__cause__ from None
        return outcome
    return Outcome(status, body)


# --- filing -----------------------------------------------------------------------------------


@transaction.atomic(savepoint=False)  # all or nothing with the caller; no savepoint needed
def file_dispute_for_client(
    client: ApiClient, *, evidence: Iterable[tuple[str, bytes]] = (), **fields
) -> Dispute:
    """File a dispute on behalf of the consumer who used the client's portal, and remember who."""
    dispute = dispute_services.file_dispute(
        actor=dispute_services.Actor.consumer(fields["consumer_name"]),
        intake_channel=IntakeChannel.API,
        home_agency=client.agency,
        evidence=evidence,
        **fields,
    )
    _insert(ApiFiling, client_id=client.pk, dispute_id=dispute.pk, created_at=timezone.now())
    return dispute


@transaction.atomic
def add_evidence_for_client(
    client: ApiClient, dispute: Dispute, *, name: str, content: bytes
) -> Evidence:
    return dispute_services.add_document(
        dispute,
        actor=dispute_services.Actor.consumer(dispute.consumer_name),
        name=name,
        content=content,
        language=dispute.filing_language,
    )


def purge_idempotency_records(*, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Forget replay answers after their retention time: they hold filing details."""
    cutoff = (now or timezone.now()) - older_than
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
