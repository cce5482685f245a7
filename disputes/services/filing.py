"""Filing: a new dispute at this node's agency, its reference number and its evidence.

Owns: ``file_dispute`` and ``allocate_reference``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency, Category, Country
from agencies.selectors import this_agency
from odr.errors import DomainError, InvalidInput, NotAllowed

from ..evidence import store_evidence
from ..models import Dispute, ProblemType, Remedy, Status, TimelineEvent
from .actors import Actor
from .deadlines import agency_today, compute_deadlines
from .merchant_identity import dispute_merchant_key
from .rows import check_values
from .timeline import record_event, require_text


def allocate_reference(agency: Agency, year: int) -> str:
    """The next reference of an agency for a year, e.g. BPKN-2026-000123.

    The counter row is created or incremented by one upsert, which takes a row lock
    (PostgreSQL) or the write lock (SQLite) until the filing transaction commits, so
    concurrent filings never share or skip a number. Call inside ``transaction.atomic``.
    """
    # One upsert instead of insert-if-missing, update and select: numbering is on every
    # filing's path. PostgreSQL and SQLite (3.35+) both support ON CONFLICT … RETURNING.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO disputes_referencecounter (agency_id, year, last_number)"
            " VALUES (%s, %s, 1) ON CONFLICT (agency_id, year)"
            " DO UPDATE SET last_number = disputes_referencecounter.last_number + 1"
            " RETURNING last_number",
            [agency.pk, year],
        )
        (number,) = cursor.fetchone()
    if number > 999_999:
        raise DomainError(_("The reference numbers for this year are exhausted."))
    return f"{agency.reference_prefix}-{year}-{number:06d}"


# --- deadlines --------------------------------------------------------------------------------


def file_dispute(
    *,
    actor: Actor,
    consumer_name: str,
    consumer_email: str,
    consumer_country: Country,
    consumer_language: str,
    merchant_name: str,
    merchant_country: Country,
    purchase_date: dt.date,
    amount: Decimal,
    currency: str,
    payment_method: str,
    category: Category,
    problem_types: Iterable[ProblemType],
    desired_remedy: Remedy,
    consumer_account: str,
    filing_language: str,
    intake_channel: str,
    consumer_phone: str = "",
    merchant_website: str = "",
    merchant_contact: str = "",
    order_number: str = "",
    platform: str = "",
    home_agency: Agency | None = None,
    evidence: Iterable[tuple[str, bytes]] = (),
    now: dt.datetime | None = None,
) -> Dispute:
    """File a dispute at this node's agency. Evidence is a list of (file name, content).

    The reference is numbered as late as possible (``_number``): from then until the filing
    commits, the agency's counter row stays locked and concurrent filings wait for it, so the
    less that comes after, the more filings can proceed at once. Only evidence needs the
    reference before (its files are stored under it).
    """

    home_agency = home_agency or this_agency()
    now = now or timezone.now()
    problem_types = list(problem_types)
    if not problem_types:
        raise InvalidInput(_("Choose at least one problem."), code="problem_types_required")
    if amount is None or Decimal(amount) < 0:
        raise InvalidInput(_("The amount cannot be negative."), code="amount_negative")
    if purchase_date > agency_today(home_agency, now):
        raise InvalidInput(_("The purchase date cannot be in the future."), code="date_in_future")
    if actor.kind not in ("consumer", "caseworker", "system"):
        raise NotAllowed(_("Only a consumer or a caseworker may file a dispute."))
    consumer_account = require_text(consumer_account, _("an account of what happened"))
    dispute = Dispute(
        # Unique and never committed: replaced by the real reference in this transaction.
        reference=f"~{uuid.uuid4().hex[:29]}",
        home_agency=home_agency,
        consumer_name=consumer_name.strip(),
        consumer_email=consumer_email.strip(),
        consumer_phone=consumer_phone.strip(),
        consumer_country=consumer_country,
        consumer_language=consumer_language,
        merchant_name=merchant_name.strip(),
        merchant_website=merchant_website.strip(),
        merchant_key=dispute_merchant_key(merchant_website),
        merchant_country=merchant_country,
        merchant_contact=merchant_contact.strip(),
        purchase_date=purchase_date,
        order_number=order_number.strip(),
        amount=Decimal(amount),
        currency=currency.upper(),
        payment_method=payment_method,
        platform=platform.strip(),
        category=category,
        desired_remedy=desired_remedy,
        consumer_account=consumer_account,
        filing_language=filing_language,
        intake_channel=intake_channel,
        status=Status.SUBMITTED,
        status_changed_at=now,
        filed_at=now,
    )
    # The reference is checked when it is allocated.
    check_values(dispute, exclude=["reference"])
    compute_deadlines(dispute, now)
    evidence = list(evidence)
    year = agency_today(home_agency, now).year
    # Everything above only checks and reads. A savepoint lets a caller's transaction go on
    # after a refused filing; only evidence can still be refused below (its checks), so without
    # it a filing is all or nothing with the caller's transaction (two statements fewer).
    with transaction.atomic(savepoint=bool(evidence)):
        dispute.save()
        # add, not set: a new dispute has no problem types to compare with (saves a select).
        dispute.problem_types.add(*problem_types)

        if evidence:
            _number(dispute, year)
        for name, content in evidence:
            store_evidence(dispute, name=name, content=content, uploaded_by="consumer")
        filed = record_event(
            dispute,
            actor,
            TimelineEvent.Kind.FILED,
            text=_("Filed through %(channel)s.")
            % {"channel": dispute.get_intake_channel_display()},
            language=filing_language,
            data={"channel": intake_channel, "review_due_on": str(dispute.review_due_on)},
            to_status=Status.SUBMITTED,
        )
        if not evidence:
            _number(dispute, year)
    # The whole timeline of the new dispute, for callers that answer with it (the API) without
    # reading it back.
    dispute.recorded_events = [filed]
    return dispute


def _number(dispute: Dispute, year: int) -> None:
    """Give a dispute being filed its reference (``allocate_reference``: the counter row stays
    locked until the filing commits)."""

    reference = allocate_reference(dispute.home_agency, year)
    try:
        Dispute._meta.get_field("reference").run_validators(reference)
    except ValidationError as error:
        raise ValidationError({"reference": error.error_list}) from None
    Dispute.objects.filter(pk=dispute.pk).update(reference=reference)
    dispute.reference = reference
