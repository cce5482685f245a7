"""Writes about disputes: filing, every lifecycle transition, messages and evidence.

Every transition is one function. It locks the dispute, checks the status and who acts, applies
the change, recomputes deadlines and writes the timeline event in one transaction. The event is
then handed, still inside that transaction, to the relay (which writes an outgoing case packet
when the dispute is shared with a partner agency) and to consumer notifications (which queue an
email after commit). An illegal move raises a ``DomainError`` with a stable code.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency, Category, Country, DomesticBody, MoU
from agencies.selectors import (
    agency_calendar,
    partner_and_mou,
    scope_problems,
)
from odr.errors import DomainError, IllegalTransition, InvalidInput, NotAllowed, OutOfScope

from .lifecycle import OPEN_STATUSES, TRANSITIONS, allowed_sides
from .models import (
    Dispute,
    Message,
    MessageTranslation,
    ProblemType,
    Remedy,
    Status,
    TimelineEvent,
)


@dataclass(frozen=True)
class Actor:
    """Who performs an action, as the domain sees them.

    ``kind`` is consumer, caseworker (a person at this node's agency), agency (a partner agency
    acting through a case packet), merchant or system.
    """

    kind: str
    name: str = ""
    agency_code: str | None = None
    user: Any = field(default=None, compare=False)
    # For a partner's packet: the change was made there by the consumer or the merchant, whom
    # that agency speaks for (the consumer only through the home agency).
    on_behalf_of: str = ""

    @classmethod
    def consumer(cls, name: str = "") -> Actor:
        return cls("consumer", name)

    @classmethod
    def caseworker(cls, user) -> Actor:
        if not (user and user.is_active and user.has_perm("disputes.handle_dispute")):
            raise NotAllowed(_("Only caseworkers may do this."), code="not_a_caseworker")
        name = user.get_full_name() or user.get_username()
        return cls("caseworker", name, settings.ODR_NODE, user)

    @classmethod
    def agency(cls, code: str, *, name: str = "", on_behalf_of: str = "") -> Actor:
        """A partner agency acting through a case packet applied by the relay."""
        return cls("agency", name or code, code, on_behalf_of=on_behalf_of)

    @classmethod
    def system(cls) -> Actor:
        return cls("system", "system")

    @property
    def is_remote(self) -> bool:
        """True when the change arrived from the partner node and must not be relayed back."""
        return self.kind == "agency"


def side_of(actor: Actor, dispute: Dispute) -> str:
    if actor.kind in ("consumer", "merchant", "system"):
        return actor.kind
    if actor.kind == "agency" and actor.on_behalf_of == "merchant":
        return "merchant"
    if actor.kind == "agency" and actor.on_behalf_of == "consumer":
        return "consumer" if actor.agency_code == dispute.home_agency.code else "outsider"
    if actor.agency_code == dispute.home_agency.code:
        return "home"
    if dispute.partner_agency_id and actor.agency_code == dispute.partner_agency.code:
        return "partner"
    return "outsider"


def timeline_actor(actor: Actor, dispute: Dispute) -> str:
    return {
        "consumer": TimelineEvent.Actor.CONSUMER,
        "merchant": TimelineEvent.Actor.MERCHANT,
        "system": TimelineEvent.Actor.SYSTEM,
        "home": TimelineEvent.Actor.HOME_AGENCY,
        "partner": TimelineEvent.Actor.PARTNER_AGENCY,
    }.get(side_of(actor, dispute), TimelineEvent.Actor.SYSTEM)


# --- reference numbers ------------------------------------------------------------------------


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


def agency_today(agency: Agency, now: dt.datetime | None = None) -> dt.date:
    import zoneinfo

    now = now or timezone.now()
    return now.astimezone(zoneinfo.ZoneInfo(agency.country.timezone)).date()


def compute_deadlines(dispute: Dispute, now: dt.datetime | None = None) -> list[str]:
    """Set the deadline of the stage the dispute is in, on the calendar of the agency that acts.

    Returns the names of the fields that changed.
    """
    before = {
        name: getattr(dispute, name)
        for name in (
            "review_due_on",
            "acknowledge_due_on",
            "merchant_contact_due_on",
            "resolution_due_on",
        )
    }
    status = dispute.status
    home = dispute.home_agency
    if status in (Status.SUBMITTED, Status.UNDER_REVIEW):
        today = agency_today(home, now)
        if status == Status.SUBMITTED or dispute.review_due_on is None:
            dispute.review_due_on = agency_calendar(home, today).add_working_days(
                today, home.review_deadline_days
            )
        dispute.acknowledge_due_on = None
    elif status == Status.CLARIFICATION_REQUESTED:
        # The agency's clock stops while it waits for the consumer.
        dispute.review_due_on = None
    elif status == Status.FORWARDED and dispute.mou_id:
        partner = dispute.partner_agency
        today = agency_today(partner, now)
        dispute.review_due_on = None
        dispute.acknowledge_due_on = agency_calendar(partner, today).add_working_days(
            today, dispute.mou.acknowledge_days
        )
    elif status == Status.ACCEPTED_BY_PARTNER and dispute.mou_id:
        partner = dispute.partner_agency
        today = agency_today(partner, now)
        calendar = agency_calendar(partner, today)
        dispute.acknowledge_due_on = None
        dispute.merchant_contact_due_on = calendar.add_working_days(
            today, dispute.mou.merchant_contact_days
        )
        dispute.resolution_due_on = calendar.add_working_days(today, dispute.mou.resolution_days)
    elif status in (Status.MERCHANT_CONTACTED, Status.NEGOTIATION, Status.MEDIATION):
        dispute.merchant_contact_due_on = None
    else:
        dispute.review_due_on = None
        dispute.acknowledge_due_on = None
        dispute.merchant_contact_due_on = None
        dispute.resolution_due_on = None
    return [name for name, value in before.items() if getattr(dispute, name) != value]


# --- the timeline and what follows an event ---------------------------------------------------


def record_event(
    dispute: Dispute,
    actor: Actor,
    kind: str,
    *,
    text: str = "",
    language: str = "",
    data: dict | None = None,
    from_status: str = "",
    to_status: str = "",
    visible_to_consumer: bool = True,
    relay: bool = True,
    message: Message | None = None,
) -> TimelineEvent:
    """Write a timeline event and hand it on: to the relay, and to consumer notifications.

    ``message`` is the message a message event is about, handed on so that it is not read back.
    """
    event = TimelineEvent.objects.create(
        dispute=dispute,
        actor=timeline_actor(actor, dispute),
        actor_name=actor.name,
        user=actor.user if actor.user and actor.user.pk else None,
        kind=kind,
        text=text,
        language=language,
        data=data or {},
        from_status=from_status,
        to_status=to_status,
        visible_to_consumer=visible_to_consumer,
    )
    event.subject_message = message  # not a field: handed on in memory only
    from portal.notifications import on_timeline_event as notify_consumer
    from relay.services import on_timeline_event as relay_to_partner

    if relay and not actor.is_remote:
        relay_to_partner(event)
    notify_consumer(event)
    return event


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


def _locked(dispute: Dispute) -> Dispute:
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


def _apply_transition(
    dispute: Dispute,
    name: str,
    actor: Actor,
    *,
    text: str = "",
    language: str = "",
    data: dict | None = None,
    updates: dict | None = None,
    now: dt.datetime | None = None,
) -> Dispute:
    transition = TRANSITIONS[name]
    dispute = _locked(dispute)
    if dispute.status not in transition.sources:
        raise IllegalTransition(
            _("A dispute that is %(status)s cannot be moved by “%(action)s”.")
            % {"status": dispute.get_status_display(), "action": name.replace("_", " ")},
            code="illegal_transition",
            details={"status": dispute.status, "transition": name},
        )
    partner_stages = dispute.mou.partner_stages if dispute.mou_id else None
    side = side_of(actor, dispute)
    if side not in allowed_sides(transition, dispute.status, partner_stages):
        raise NotAllowed(
            _("You may not “%(action)s” on this dispute.") % {"action": name.replace("_", " ")},
            code="actor_not_allowed",
            details={"side": side, "transition": name},
        )
    now = now or timezone.now()
    from_status = dispute.status
    for attribute, value in (updates or {}).items():
        setattr(dispute, attribute, value)
    dispute.status = transition.target
    dispute.status_changed_at = now
    compute_deadlines(dispute, now)
    dispute.save()
    record_event(
        dispute,
        actor,
        TimelineEvent.Kind.STATUS_CHANGED,
        text=text,
        language=language,
        data={"transition": name, **(data or {})},
        from_status=from_status,
        to_status=transition.target,
    )
    return dispute


def _require_text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(_("Please give %(what)s.") % {"what": what}, code="required")
    return value


# --- filing -----------------------------------------------------------------------------------


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
    from agencies.selectors import this_agency

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
    consumer_account = _require_text(consumer_account, _("an account of what happened"))
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
        from .evidence import store_evidence

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
    from django.core.exceptions import ValidationError

    reference = allocate_reference(dispute.home_agency, year)
    try:
        Dispute._meta.get_field("reference").run_validators(reference)
    except ValidationError as error:
        raise ValidationError({"reference": error.error_list}) from None
    # Plain SQL: this and what follows it in the transaction hold the counter's lock.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE disputes_dispute SET reference = %s WHERE id = %s", [reference, dispute.pk]
        )
    dispute.reference = reference


# --- the lifecycle ----------------------------------------------------------------------------


@transaction.atomic
def start_review(dispute: Dispute, *, actor: Actor) -> Dispute:
    return _apply_transition(dispute, "start_review", actor)


@transaction.atomic
def request_clarification(
    dispute: Dispute, *, actor: Actor, question: str, language: str
) -> Dispute:
    question = _require_text(question, _("the question for the consumer"))
    return _apply_transition(
        dispute, "request_clarification", actor, text=question, language=language
    )


@transaction.atomic
def provide_clarification(dispute: Dispute, *, actor: Actor, answer: str, language: str) -> Dispute:
    answer = _require_text(answer, _("your answer"))
    return _apply_transition(
        dispute, "provide_clarification", actor, text=answer, language=language
    )


@transaction.atomic
def refer_out_of_scope(
    dispute: Dispute, *, actor: Actor, body: DomesticBody, reason: str, language: str = ""
) -> Dispute:
    reason = _require_text(reason, _("the reason for the referral"))
    return _apply_transition(
        dispute,
        "refer_out_of_scope",
        actor,
        text=reason,
        language=language,
        data={"referred_to": body.code},
        updates={"referred_to": body, "referral_reason": reason},
    )


def forwarding_problems(dispute: Dispute, mou: MoU | None) -> list[tuple[str, str]]:
    """Why the dispute cannot be forwarded under this MoU, as (code, message) pairs."""
    if mou is None:
        return [("no_active_mou", _("There is no active MoU with an agency in that country."))]
    problems = []
    if mou.status != MoU.Status.ACTIVE:
        problems.append(("mou_not_active", _("The MoU is not active.")))
    if not mou.is_party(dispute.home_agency):
        problems.append(("mou_not_party", _("This agency is not a party to the MoU.")))
    else:
        partner = mou.partner_of(dispute.home_agency)
        if partner.country_id != dispute.merchant_country_id:
            problems.append(
                (
                    "merchant_country_not_partner",
                    _("The merchant is not in the partner agency's country."),
                )
            )
        if partner.status != Agency.Status.ACTIVE:
            problems.append(("partner_not_active", _("The partner agency is not active.")))
    today = timezone.now().date()
    if (mou.effective_from and mou.effective_from > today) or (
        mou.effective_until and mou.effective_until < today
    ):
        problems.append(("mou_not_in_force", _("The MoU is not in force today.")))
    problems += scope_problems(
        mou, category_id=dispute.category_id, amount=dispute.amount, currency=dispute.currency
    )
    return problems


@transaction.atomic
def forward_dispute(dispute: Dispute, *, actor: Actor, mou: MoU | None = None) -> Dispute:
    """Forward to the partner agency in the merchant's country under an active MoU in scope."""
    dispute = _locked(dispute)
    if mou is None:
        _partner, mou = partner_and_mou(dispute.home_agency, dispute.merchant_country)
    else:
        mou = MoU.objects.select_for_update().get(pk=mou.pk)
    problems = forwarding_problems(dispute, mou)
    if problems:
        raise OutOfScope(
            "; ".join(message for _code, message in problems),
            code=problems[0][0],
            details={"problems": [code for code, _message in problems]},
        )
    with holding_lock(dispute):
        return _apply_transition(
            dispute,
            "forward",
            actor,
            data={"mou": mou.reference, "partner": mou.partner_of(dispute.home_agency).code},
            updates={"mou": mou, "partner_agency": mou.partner_of(dispute.home_agency)},
        )


@transaction.atomic
def accept_forwarded(dispute: Dispute, *, actor: Actor) -> Dispute:
    return _apply_transition(dispute, "accept_forwarded", actor)


@transaction.atomic
def return_to_home(dispute: Dispute, *, actor: Actor, reason: str, language: str = "") -> Dispute:
    reason = _require_text(reason, _("the reason for returning the case"))
    return _apply_transition(dispute, "return_to_home", actor, text=reason, language=language)


@transaction.atomic
def contact_merchant(dispute: Dispute, *, actor: Actor, note: str = "", language: str = ""):
    return _apply_transition(dispute, "contact_merchant", actor, text=note, language=language)


@transaction.atomic
def start_negotiation(dispute: Dispute, *, actor: Actor, note: str = "", language: str = ""):
    return _apply_transition(dispute, "start_negotiation", actor, text=note, language=language)


@transaction.atomic
def start_mediation(dispute: Dispute, *, actor: Actor, note: str = "", language: str = ""):
    return _apply_transition(dispute, "start_mediation", actor, text=note, language=language)


@transaction.atomic
def propose_settlement(
    dispute: Dispute,
    *,
    actor: Actor,
    proposal: str,
    language: str,
    amount: Decimal | None = None,
    currency: str = "",
) -> Dispute:
    """Put the merchant's offer to the consumer; the status stays until they answer."""
    proposal = _require_text(proposal, _("the proposed settlement"))
    dispute = _locked(dispute)
    if dispute.status not in TRANSITIONS["accept_settlement"].sources:
        raise IllegalTransition(
            _("A settlement can only be proposed while the merchant is engaged."),
            code="illegal_transition",
        )
    if side_of(actor, dispute) not in ("home", "partner"):
        raise NotAllowed(_("Only an agency may put a settlement to the consumer."))
    dispute.settlement_proposal = proposal
    dispute.settlement_proposed_at = timezone.now()
    dispute.settlement_amount = amount
    dispute.settlement_currency = currency.upper() if amount is not None else ""
    dispute.save()
    record_event(
        dispute,
        actor,
        TimelineEvent.Kind.NOTE,
        text=proposal,
        language=language,
        data={
            "event": "settlement_proposed",
            "amount": str(amount) if amount is not None else None,
            "currency": dispute.settlement_currency,
        },
    )
    return dispute


@transaction.atomic
def accept_settlement(dispute: Dispute, *, actor: Actor) -> Dispute:
    locked = _locked(dispute)
    if not locked.settlement_proposal:
        raise IllegalTransition(
            _("There is no settlement proposal to accept."), code="no_settlement_proposal"
        )
    with holding_lock(locked):
        return _apply_transition(
            locked,
            "accept_settlement",
            actor,
            text=locked.settlement_proposal,
            updates={"outcome_summary": locked.settlement_proposal},
        )


@transaction.atomic
def reject_settlement(dispute: Dispute, *, actor: Actor, reason: str = "", language: str = ""):
    dispute = _locked(dispute)
    if side_of(actor, dispute) != "consumer":
        raise NotAllowed(_("Only the consumer may reject a settlement proposal."))
    if not dispute.settlement_proposal:
        raise IllegalTransition(
            _("There is no settlement proposal to reject."), code="no_settlement_proposal"
        )
    dispute.settlement_proposal = ""
    dispute.settlement_proposed_at = None
    dispute.save()
    record_event(
        dispute,
        actor,
        TimelineEvent.Kind.NOTE,
        text=reason,
        language=language,
        data={"event": "settlement_rejected"},
    )
    return dispute


@transaction.atomic
def record_settlement(
    dispute: Dispute,
    *,
    actor: Actor,
    summary: str,
    language: str,
    amount: Decimal | None = None,
    currency: str = "",
) -> Dispute:
    summary = _require_text(summary, _("the terms of the settlement"))
    return _apply_transition(
        dispute,
        "record_settlement",
        actor,
        text=summary,
        language=language,
        data={"amount": str(amount) if amount is not None else None, "currency": currency},
        updates={
            "outcome_summary": summary,
            "settlement_amount": amount,
            "settlement_currency": currency.upper() if amount is not None else "",
        },
    )


@transaction.atomic
def record_no_settlement(dispute: Dispute, *, actor: Actor, summary: str, language: str):
    summary = _require_text(summary, _("why no settlement was reached"))
    return _apply_transition(
        dispute,
        "record_no_settlement",
        actor,
        text=summary,
        language=language,
        updates={"outcome_summary": summary},
    )


@transaction.atomic
def refer_to_adjudication(
    dispute: Dispute, *, actor: Actor, body: DomesticBody, reason: str = "", language: str = ""
) -> Dispute:
    if not body.handles_adjudication:
        raise InvalidInput(
            _("%(body)s does not decide disputes.") % {"body": body.name}, code="not_adjudicator"
        )
    return _apply_transition(
        dispute,
        "refer_to_adjudication",
        actor,
        text=reason,
        language=language,
        data={"referred_to": body.code},
        updates={"referred_to": body},
    )


@transaction.atomic
def close_dispute(dispute: Dispute, *, actor: Actor, note: str = "", language: str = ""):
    return _apply_transition(dispute, "close", actor, text=note, language=language)


@transaction.atomic
def withdraw_dispute(dispute: Dispute, *, actor: Actor, reason: str = "", language: str = ""):
    return _apply_transition(dispute, "withdraw", actor, text=reason, language=language)


TRANSITION_SERVICES = {
    "start_review": start_review,
    "request_clarification": request_clarification,
    "provide_clarification": provide_clarification,
    "refer_out_of_scope": refer_out_of_scope,
    "forward": forward_dispute,
    "accept_forwarded": accept_forwarded,
    "return_to_home": return_to_home,
    "contact_merchant": contact_merchant,
    "start_negotiation": start_negotiation,
    "start_mediation": start_mediation,
    "accept_settlement": accept_settlement,
    "record_settlement": record_settlement,
    "record_no_settlement": record_no_settlement,
    "refer_to_adjudication": refer_to_adjudication,
    "close": close_dispute,
    "withdraw": withdraw_dispute,
}


# --- messages ---------------------------------------------------------------------------------


def post_message(
    dispute: Dispute,
    *,
    actor: Actor,
    body: str,
    language: str,
    visible_to_consumer: bool = True,
    uid: str | None = None,
    sent_at: dt.datetime | None = None,
    savepoint: bool = True,
) -> Message:
    """Post a message on the case. A relayed message keeps its uid, so it is stored only once.

    ``savepoint=False``: in the caller's transaction as it is, with no savepoint of its own and
    no look for an earlier copy of a relayed message. For a caller that takes its whole
    transaction back when this raises (the relay's inbox, which then tries again with one).
    """
    with transaction.atomic(savepoint=savepoint):
        body = _require_text(body, _("a message"))
        dispute = _locked(dispute)
        side = side_of(actor, dispute)
        if side == "outsider":
            raise NotAllowed(_("You may not write on this dispute."), code="actor_not_allowed")
        if side == "consumer" and dispute.status not in OPEN_STATUSES:
            raise IllegalTransition(
                _("This dispute is closed; it no longer takes messages."), code="dispute_closed"
            )
        # A relayed message seen before (rare): the cheap question first, the message only then.
        # Without a savepoint the unique uid refuses a copy, and the caller tries again with one.
        if uid and savepoint and Message.objects.filter(uid=uid).order_by().values_list("pk")[:1]:
            return Message.objects.get(uid=uid)
        author_kind = {
            "consumer": Message.Author.CONSUMER,
            "home": Message.Author.HOME_AGENCY,
            "partner": Message.Author.PARTNER_AGENCY,
            "merchant": Message.Author.MERCHANT,
        }.get(side, Message.Author.HOME_AGENCY)
        message = Message.objects.create(
            dispute=dispute,
            author_kind=author_kind,
            author_name=actor.name,
            body=body,
            language=language,
            visible_to_consumer=visible_to_consumer,
            sent_at=sent_at or timezone.now(),
            uid=uid or str(uuid.uuid4()),
        )
        record_event(
            dispute,
            actor,
            TimelineEvent.Kind.MESSAGE,
            text=body,
            language=language,
            data={"message_uid": message.uid},
            visible_to_consumer=visible_to_consumer,
            message=message,
        )
        return message


@transaction.atomic
def add_translation(
    message: Message, *, actor: Actor, language: str, body: str
) -> MessageTranslation:
    """Store a caseworker's translation beside the original, which is never changed."""
    if actor.kind not in ("caseworker", "agency"):
        raise NotAllowed(_("Only caseworkers add translations."))
    body = _require_text(body, _("the translation"))
    if language == message.language:
        raise InvalidInput(
            _("The translation must be in another language than the original."),
            code="same_language",
        )
    translation, _created = MessageTranslation.objects.update_or_create(
        message=message,
        language=language,
        defaults={"body": body, "translated_by": actor.name, "translated_at": timezone.now()},
    )
    return translation


@transaction.atomic
def add_document(
    dispute: Dispute,
    *,
    actor: Actor,
    name: str,
    content: bytes,
    note: str = "",
    language: str = "",
    visible_to_consumer: bool = True,
):
    """Add a file to an open case (the consumer's new evidence, or a caseworker's document)."""
    from .evidence import store_evidence

    dispute = _locked(dispute)
    side = side_of(actor, dispute)
    if side not in ("consumer", "home", "partner", "merchant"):
        raise NotAllowed(_("You may not add files to this dispute."), code="actor_not_allowed")
    if dispute.status not in OPEN_STATUSES:
        raise IllegalTransition(
            _("This dispute is closed; it no longer takes files."), code="dispute_closed"
        )
    uploaded_by = {
        "consumer": "consumer",
        "home": "home_agency",
        "partner": "partner_agency",
        "merchant": "merchant",
    }[side]
    evidence, created = store_evidence(dispute, name=name, content=content, uploaded_by=uploaded_by)
    if created:
        record_event(
            dispute,
            actor,
            TimelineEvent.Kind.DOCUMENT,
            text=note,
            language=language,
            data={"sha256": evidence.sha256, "name": evidence.original_name},
            visible_to_consumer=visible_to_consumer,
        )
    return evidence


@transaction.atomic
def flag_missed_deadlines(dispute: Dispute, today: dt.date) -> list[TimelineEvent]:
    """Write one timeline event per missed deadline, never twice for the same deadline."""
    from .selectors import missed_deadlines

    dispute = _locked(dispute)
    flagged = []
    for name, due in missed_deadlines(dispute, today):
        already = dispute.timeline.filter(
            kind=TimelineEvent.Kind.DEADLINES, data__deadline=name, data__due=str(due)
        ).exists()
        if already:
            continue
        flagged.append(
            record_event(
                dispute,
                Actor.system(),
                TimelineEvent.Kind.DEADLINES,
                text=_("Deadline missed: %(deadline)s was due on %(due)s.")
                % {"deadline": Dispute._meta.get_field(name).verbose_name, "due": due},
                data={"event": "deadline_missed", "deadline": name, "due": str(due)},
                visible_to_consumer=False,
                relay=False,
            )
        )
    return flagged
