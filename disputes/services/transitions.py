"""The lifecycle after filing: review, forwarding under an MoU, the partner's stages, settlement
and the outcomes. One function per transition (``TRANSITION_SERVICES`` names them for the
relay), each atomic, each going through ``timeline.apply_transition``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency, DomesticBody, MoU
from agencies.selectors import partner_and_mou, scope_problems
from odr.errors import IllegalTransition, InvalidInput, NotAllowed, OutOfScope

from ..lifecycle import TRANSITIONS
from ..models import Dispute, RemedyKind, TimelineEvent
from ..selectors import missed_deadlines
from .actors import Actor, side_of
from .rows import holding_lock, lock_dispute
from .terms import check_amount, check_currency, check_perform_by, check_text
from .timeline import apply_transition, record_event, require_text


@transaction.atomic
def start_review(dispute: Dispute, *, actor: Actor) -> Dispute:
    return apply_transition(dispute, "start_review", actor)


@transaction.atomic
def request_clarification(
    dispute: Dispute, *, actor: Actor, question: str, language: str
) -> Dispute:
    question = require_text(question, _("the question for the consumer"))
    return apply_transition(
        dispute, "request_clarification", actor, text=question, language=language
    )


@transaction.atomic
def provide_clarification(dispute: Dispute, *, actor: Actor, answer: str, language: str) -> Dispute:
    answer = require_text(answer, _("your answer"))
    return apply_transition(dispute, "provide_clarification", actor, text=answer, language=language)


@transaction.atomic
def refer_out_of_scope(
    dispute: Dispute, *, actor: Actor, body: DomesticBody, reason: str, language: str = ""
) -> Dispute:
    reason = require_text(reason, _("the reason for the referral"))
    return apply_transition(
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
    dispute = lock_dispute(dispute)
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
        return apply_transition(
            dispute,
            "forward",
            actor,
            data={"mou": mou.reference, "partner": mou.partner_of(dispute.home_agency).code},
            updates={"mou": mou, "partner_agency": mou.partner_of(dispute.home_agency)},
        )


@transaction.atomic
def accept_forwarded(dispute: Dispute, *, actor: Actor) -> Dispute:
    return apply_transition(dispute, "accept_forwarded", actor)


@transaction.atomic
def return_to_home(dispute: Dispute, *, actor: Actor, reason: str, language: str = "") -> Dispute:
    reason = require_text(reason, _("the reason for returning the case"))
    return apply_transition(dispute, "return_to_home", actor, text=reason, language=language)


@transaction.atomic
def contact_merchant(dispute: Dispute, *, actor: Actor, note: str = "", language: str = ""):
    return apply_transition(dispute, "contact_merchant", actor, text=note, language=language)


@transaction.atomic
def start_negotiation(dispute: Dispute, *, actor: Actor, note: str = "", language: str = ""):
    return apply_transition(dispute, "start_negotiation", actor, text=note, language=language)


@transaction.atomic
def start_mediation(dispute: Dispute, *, actor: Actor, note: str = "", language: str = ""):
    return apply_transition(dispute, "start_mediation", actor, text=note, language=language)


@transaction.atomic
def propose_settlement(
    dispute: Dispute,
    *,
    actor: Actor,
    proposal: str = "",
    language: str,
    amount=None,
    currency: str = "",
    remedy: str = "",
    perform_by: dt.date | None = None,
) -> Dispute:
    """Put terms to the consumer: the merchant's offer (through their link, or passed on by an
    agency), or the agency's own in mediation. The status stays until the consumer answers.

    With a remedy (refund, replacement, repair, other) the terms say by when it is carried out; a
    refund needs an amount and currency. Without one (an agency's offer in words, as packets of
    protocol v1 carry it) the amount is optional. The merchant always names a remedy.
    """
    if remedy and remedy not in RemedyKind.values:
        raise InvalidInput(_("Choose a remedy."), code="remedy_invalid")
    proposal = check_text(
        proposal, _("the proposed settlement"), required=remedy in ("", RemedyKind.OTHER)
    )
    dispute = lock_dispute(dispute)
    if dispute.status not in TRANSITIONS["accept_settlement"].sources:
        raise IllegalTransition(
            _("A settlement can only be proposed while the merchant is engaged."),
            code="illegal_transition",
        )
    side = side_of(actor, dispute)
    if side not in ("home", "partner", "merchant"):
        raise NotAllowed(_("Only the merchant or an agency may propose terms."))
    if side == "merchant" and not remedy:
        raise InvalidInput(_("Choose a remedy."), code="remedy_invalid")
    if amount not in (None, "") or remedy == RemedyKind.REFUND:
        currency = check_currency(currency)
        amount = check_amount(dispute, amount, currency, checked_here=not actor.is_remote)
    else:
        amount, currency = None, ""
    if remedy:
        perform_by = check_perform_by(dispute, perform_by, checked_here=not actor.is_remote)
    else:
        perform_by = None
    terms = proposal or str(RemedyKind(remedy).label)
    dispute.settlement_proposal = terms
    dispute.settlement_proposed_at = timezone.now()
    dispute.settlement_amount = amount
    dispute.settlement_currency = currency
    dispute.settlement_remedy = remedy
    dispute.settlement_due_on = perform_by
    dispute.save()
    record_event(
        dispute,
        actor,
        TimelineEvent.Kind.NOTE,
        text=terms,
        language=language,
        data={
            "event": "settlement_proposed",
            "amount": str(amount) if amount is not None else None,
            "currency": currency,
            "remedy": remedy or None,
            "perform_by": perform_by.isoformat() if perform_by else None,
        },
    )
    return dispute


@transaction.atomic
def accept_settlement(dispute: Dispute, *, actor: Actor) -> Dispute:
    locked = lock_dispute(dispute)
    if not locked.settlement_proposal:
        raise IllegalTransition(
            _("There is no settlement proposal to accept."), code="no_settlement_proposal"
        )
    with holding_lock(locked):
        return apply_transition(
            locked,
            "accept_settlement",
            actor,
            text=locked.settlement_proposal,
            updates={"outcome_summary": locked.settlement_proposal},
        )


@transaction.atomic
def reject_settlement(dispute: Dispute, *, actor: Actor, reason: str = "", language: str = ""):
    dispute = lock_dispute(dispute)
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
    remedy: str = "",
    perform_by: dt.date | None = None,
) -> Dispute:
    """The terms the parties agreed (in mediation, or reached outside the platform); with a
    remedy, the date by which it is carried out."""
    summary = require_text(summary, _("the terms of the settlement"))
    if remedy and remedy not in RemedyKind.values:
        raise InvalidInput(_("Choose a remedy."), code="remedy_invalid")
    if remedy:
        perform_by = check_perform_by(dispute, perform_by, checked_here=not actor.is_remote)
    return apply_transition(
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
            "settlement_remedy": remedy,
            "settlement_due_on": perform_by if remedy else None,
            "settlement_proposal": "",
            "settlement_proposed_at": None,
        },
    )


@transaction.atomic
def record_no_settlement(dispute: Dispute, *, actor: Actor, summary: str, language: str):
    summary = require_text(summary, _("why no settlement was reached"))
    return apply_transition(
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
    return apply_transition(
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
    return apply_transition(dispute, "close", actor, text=note, language=language)


@transaction.atomic
def withdraw_dispute(dispute: Dispute, *, actor: Actor, reason: str = "", language: str = ""):
    return apply_transition(dispute, "withdraw", actor, text=reason, language=language)


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


# --- deadlines missed -------------------------------------------------------------------------


@transaction.atomic
def flag_missed_deadlines(dispute: Dispute, today: dt.date) -> list[TimelineEvent]:
    """Write one timeline event per missed deadline, never twice for the same deadline."""

    dispute = lock_dispute(dispute)
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
