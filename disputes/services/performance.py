"""After the settlement: the merchant confirms carrying it out, the consumer confirms receipt
(or that it did not arrive), and rates the result and the handling once the case has an outcome.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from odr.errors import IllegalTransition, InvalidInput, NotAllowed

from ..models import Dispute, Rating, Receipt, Status, TimelineEvent
from .actors import Actor, side_of
from .deadlines import acting_agency, agency_today
from .rows import lock_dispute
from .terms import check_text
from .timeline import record_event

OUTCOMES = (
    Status.SETTLED,
    Status.NOT_SETTLED,
    Status.REFERRED_TO_ADJUDICATION,
    Status.WITHDRAWN,
    Status.CLOSED,
)


@transaction.atomic
def confirm_performance(
    dispute: Dispute, *, actor: Actor, performed_on: dt.date | None, note: str = "", language: str
) -> Dispute:
    """The merchant says the settlement was carried out (e.g. the refund paid on a date)."""
    note = check_text(note, _("the note"), required=False)
    dispute = lock_dispute(dispute)
    if side_of(actor, dispute) not in ("merchant", "home", "partner"):
        raise NotAllowed(_("Only the merchant may confirm this."), code="actor_not_allowed")
    if dispute.status != Status.SETTLED:
        raise IllegalTransition(_("Only a settled case can be carried out."), code="not_settled")
    if dispute.settlement_performed_on is not None:
        raise IllegalTransition(
            _("Carrying out the settlement was already confirmed."), code="already_confirmed"
        )
    if performed_on is None or performed_on > agency_today(acting_agency(dispute)):
        raise InvalidInput(
            _("Give the date it was carried out; it cannot be in the future."),
            code="performed_on_invalid",
        )
    dispute.settlement_performed_on = performed_on
    dispute.settlement_performance_note = note
    dispute.save(update_fields=["settlement_performed_on", "settlement_performance_note"])
    record_event(
        dispute,
        actor,
        TimelineEvent.Kind.NOTE,
        text=note,
        language=language,
        data={"event": "performance_confirmed", "performed_on": performed_on.isoformat()},
    )
    return dispute


@transaction.atomic
def confirm_receipt(
    dispute: Dispute, *, actor: Actor, received: bool, note: str = "", language: str
) -> Dispute:
    """The consumer says the remedy arrived, or that it did not (which they may later correct)."""
    note = check_text(note, _("the note"), required=False)
    dispute = lock_dispute(dispute)
    if side_of(actor, dispute) != "consumer":
        raise NotAllowed(_("Only the consumer may confirm this."), code="actor_not_allowed")
    if dispute.status not in (Status.SETTLED, Status.CLOSED):
        raise IllegalTransition(_("There is no settlement to confirm."), code="not_settled")
    if dispute.consumer_receipt == Receipt.RECEIVED:
        raise IllegalTransition(_("You already confirmed receipt."), code="already_confirmed")
    dispute.consumer_receipt = Receipt.RECEIVED if received else Receipt.NOT_RECEIVED
    dispute.save(update_fields=["consumer_receipt"])
    record_event(
        dispute,
        actor,
        TimelineEvent.Kind.NOTE,
        text=note,
        language=language,
        data={"event": "receipt_confirmed" if received else "receipt_not_received"},
    )
    return dispute


@transaction.atomic
def rate_dispute(
    dispute: Dispute, *, actor: Actor, aspect: str, score: int, comment: str = "", language: str
) -> Rating:
    """The consumer rates the result or the handling, 1 to 5, once each, after the outcome."""
    comment = check_text(comment, _("the comment"), required=False)
    if aspect not in Rating.Aspect.values:
        raise InvalidInput(_("Choose what you rate."), code="aspect_invalid")
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidInput(_("Give a score from 1 to 5."), code="score_invalid")
    dispute = lock_dispute(dispute)
    if side_of(actor, dispute) != "consumer":
        raise NotAllowed(_("Only the consumer may rate the case."), code="actor_not_allowed")
    if dispute.status not in OUTCOMES:
        raise IllegalTransition(
            _("A case can be rated once it has an outcome."), code="no_outcome_yet"
        )
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                dispute=dispute, aspect=aspect, score=score, comment=comment, language=language
            )
    except IntegrityError:
        raise IllegalTransition(_("You have already rated this."), code="already_rated") from None
    record_event(
        dispute,
        actor,
        TimelineEvent.Kind.NOTE,
        text=comment,
        language=language,
        data={"event": "rated", "aspect": aspect, "score": score},
        relay=False,
    )
    return rating
