"""Writes of the intake API: clients and their keys, idempotent requests, filings and evidence."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
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


def authenticate_key(key: str) -> ApiClient | None:
    """The active client holding ``key``, or None. Hashes are compared in constant time."""
    prefix = key.split(".", 1)[0]
    if len(prefix) != KEY_PREFIX_LENGTH:
        return None
    # One narrow query, no joins: compiling a select_related over the translated agency and
    # country columns cost more CPU than the rest of a simple request.
    client = (
        ApiClient.objects.only(
            "name", "agency_id", "key_prefix", "key_hash", "scopes", "is_active", "last_used_at"
        )
        .filter(key_prefix=prefix, is_active=True)
        .first()
    )
    if client is None or not hmac.compare_digest(client.key_hash, hash_key(key)):
        return None
    from .selectors import agency_by_id

    client.agency = agency_by_id(client.agency_id)
    now = timezone.now()
    # Written at most once a minute so that busy clients don't turn every request into a write.
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
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


def run_idempotent(
    client: ApiClient,
    key: str,
    *,
    method: str,
    path: str,
    request_fingerprint: str,
    produce: Callable[[], tuple[int, dict]],
) -> Outcome:
    """Run ``produce`` once per (client, key); a retry with the same request gets the same answer.

    The record is inserted before the work, inside the same transaction: a concurrent duplicate
    waits on the unique index until the first transaction ends, then finds its stored response.
    If the work fails, the record goes with it, so the client may retry with the same key.
    """
    # The duplicate's failed insert rolls back the whole (still empty) transaction instead of a
    # savepoint around the insert: two statements fewer for every request that is not a retry.
    try:
        with transaction.atomic():
            try:
                record = IdempotencyRecord.objects.create(
                    client=client,
                    key=key,
                    method=method,
                    path=path,
                    fingerprint=request_fingerprint,
                )
            except IntegrityError as error:
                raise _KeyTaken from error
            status, body = produce()
            record.response_status = status
            record.response_body = body
            record.save(update_fields=["response_status", "response_body"])
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
    ApiFiling.objects.create(client=client, dispute=dispute)
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
