"""The merchant's part of a case: invitation, answers, proposals, performance, and the reply clock.

Also the consumer's answers that follow (receipt, rating). Each function locks the dispute,
checks the lifecycle and who acts, and writes its timeline event in the same transaction, like
every service in ``disputes.services`` (whose settlement and transition functions these reuse).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from babel.numbers import list_currencies
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency, Country
from agencies.selectors import agency_calendar
from odr.errors import IllegalTransition, InvalidInput, NotAllowed

from . import services
from .lifecycle import TRANSITIONS, allowed_sides
from .models import Dispute, Merchant, Rating, Receipt, RemedyKind, Status, TimelineEvent
from .services import Actor, _apply_transition, _locked, _require_text, agency_today, side_of
from .signals import merchant_link_issued

# What a merchant or a consumer writes in one answer; longer is refused, not cut.
MAX_TEXT = 5000
# An amount no settlement reaches (fits the amount columns with room to spare).
MAX_AMOUNT = Decimal("1000000000000")
# A settlement's amount in the claim's currency may be at most this many times the claim.
MAX_TIMES_CLAIM = 10
# How far ahead a merchant may promise to carry out a remedy.
MAX_PERFORM_DAYS = 365
# Working days before the reply deadline when the merchant is reminded.
REMINDER_WORKING_DAYS = 2
ENGAGED = (Status.MERCHANT_CONTACTED, Status.NEGOTIATION, Status.MEDIATION)
OUTCOMES = (
    Status.SETTLED,
    Status.NOT_SETTLED,
    Status.REFERRED_TO_ADJUDICATION,
    Status.WITHDRAWN,
    Status.CLOSED,
)


def merchant_actor(name: str = "") -> Actor:
    """The merchant, acting through their link on this node."""
    return Actor("merchant", name or "merchant")


# --- the merchant on record -------------------------------------------------------------------

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalise_domain(website: str) -> str:
    """The shop's web domain from what people write: scheme, www., port, path and case dropped.

    Raises ``InvalidInput`` when no domain can be read from it.
    """
    text = (website or "").strip().lower()
    if "//" not in text:
        text = "//" + text
    host = (urlsplit(text).hostname or "").rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = ""
    if host.startswith("www."):
        host = host[4:]
    if not _DOMAIN_RE.match(host):
        raise InvalidInput(
            _("“%(value)s” is not a web address.") % {"value": website[:100]}, code="bad_domain"
        )
    return host


def merchant_key(*, website: str = "", marketplace: str = "", shop_id: str = "") -> str:
    """One merchant's identity on this node: its web domain, or its marketplace and shop id."""
    marketplace, shop_id = marketplace.strip().lower(), shop_id.strip().lower()
    if marketplace and shop_id:
        marketplace = re.sub(r"\s+", "-", marketplace)
        return f"shop:{marketplace}:{shop_id}"[:300]
    if website.strip():
        return f"web:{normalise_domain(website)}"
    raise InvalidInput(
        _("Give the merchant's web address, or the marketplace and the shop's id there."),
        code="merchant_identity_required",
    )


@transaction.atomic
def record_merchant(
    *,
    name: str,
    contact_email: str,
    language: str,
    country: Country,
    website: str = "",
    marketplace: str = "",
    shop_id: str = "",
) -> Merchant:
    """The merchant with this identity, recorded now or found again with its contact updated."""
    key = merchant_key(website=website, marketplace=marketplace, shop_id=shop_id)
    domain = normalise_domain(website) if key.startswith("web:") else ""
    name = _require_text(name, _("the merchant's name"))
    contact_email = _require_text(contact_email, _("the merchant's email address"))
    merchant, created = Merchant.objects.select_for_update().get_or_create(
        key=key,
        defaults={
            "name": name,
            "contact_email": contact_email,
            "language": language,
            "country": country,
            "web_domain": domain,
            "marketplace": marketplace.strip() if not domain else "",
            "shop_id": shop_id.strip() if not domain else "",
        },
    )
    if not created:
        merchant.name, merchant.contact_email, merchant.language = name, contact_email, language
        merchant.updated_at = timezone.now()
        merchant.save(update_fields=["name", "contact_email", "language", "updated_at"])
    return merchant


def known_merchant_for(dispute: Dispute) -> Merchant | None:
    """The merchant on record that the dispute's website names, for a caseworker to reuse."""
    if dispute.merchant_id:
        return dispute.merchant
    try:
        key = merchant_key(website=dispute.merchant_website)
    except InvalidInput:
        return None
    return Merchant.objects.filter(key=key).first()


# --- the invitation and the link --------------------------------------------------------------


def _contact_side(dispute: Dispute) -> str:
    """home or partner: who deals with the merchant under the dispute's MoU."""
    stages = dispute.mou.partner_stages if dispute.mou_id else None
    return next(
        iter(allowed_sides(TRANSITIONS["contact_merchant"], Status.ACCEPTED_BY_PARTNER, stages))
    )


def _agency_of(dispute: Dispute, side: str) -> Agency:
    return dispute.partner_agency if side == "partner" else dispute.home_agency


@transaction.atomic
def invite_merchant(
    dispute: Dispute, *, actor: Actor, merchant: Merchant, note: str = "", language: str = ""
) -> Dispute:
    """Give the merchant a new link to the case and send it; a link sent before stops working.

    The first invitation records that the merchant was contacted and starts the reply clock
    (the MoU's working days on the inviting agency's calendar); a resend keeps the clock.
    """
    dispute = _locked(dispute)
    side = side_of(actor, dispute)
    if side not in ("home", "partner") or side != _contact_side(dispute):
        raise NotAllowed(
            _("Only the agency that deals with the merchant may invite them."),
            code="actor_not_allowed",
        )
    if dispute.status not in (Status.ACCEPTED_BY_PARTNER, *ENGAGED):
        raise IllegalTransition(
            _("The merchant can be invited only after the partner agency accepted the case."),
            code="illegal_transition",
        )
    now = timezone.now()
    updates = {
        "merchant": merchant,
        "merchant_link_version": dispute.merchant_link_version + 1,
        "merchant_invited_at": now,
    }
    if dispute.merchant_reply_due_on is None and dispute.status in (
        Status.ACCEPTED_BY_PARTNER,
        Status.MERCHANT_CONTACTED,
    ):
        agency = _agency_of(dispute, side)
        today = agency_today(agency, now)
        days = dispute.mou.merchant_reply_days if dispute.mou_id else 7
        updates["merchant_reply_due_on"] = agency_calendar(agency, today).add_working_days(
            today, days
        )
    with services.holding_lock(dispute):
        if dispute.status == Status.ACCEPTED_BY_PARTNER:
            dispute = _apply_transition(
                dispute,
                "contact_merchant",
                actor,
                text=note,
                language=language,
                data={"invited": True},
                updates=updates,
                now=now,
            )
        else:
            for name, value in updates.items():
                setattr(dispute, name, value)
            dispute.save()
    services.record_event(
        dispute,
        actor,
        TimelineEvent.Kind.NOTE,
        text=_("Link sent to %(email)s.") % {"email": merchant.contact_email},
        data={"event": "merchant_invited", "link_version": dispute.merchant_link_version},
        visible_to_consumer=False,
        relay=False,
    )
    merchant_link_issued.send(sender=Dispute, dispute=dispute, kind="invitation")
    return dispute


@transaction.atomic
def revoke_merchant_link(dispute: Dispute, *, actor: Actor) -> Dispute:
    """Every merchant link issued so far stops working; a new invitation issues a new one."""
    dispute = _locked(dispute)
    if side_of(actor, dispute) not in ("home", "partner"):
        raise NotAllowed(_("Only a caseworker may revoke the merchant's link."))
    dispute.merchant_link_version += 1
    dispute.save(update_fields=["merchant_link_version"])
    services.record_event(
        dispute,
        actor,
        TimelineEvent.Kind.NOTE,
        text=_("The merchant's link was revoked."),
        data={"event": "merchant_link_revoked"},
        visible_to_consumer=False,
        relay=False,
    )
    return dispute


# --- checks on input --------------------------------------------------------------------------


def _text(value: str, what: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required:
        value = _require_text(value, what)
    if len(value) > MAX_TEXT:
        raise InvalidInput(
            _("%(what)s is %(length)s characters long; at most %(limit)s are allowed.")
            % {"what": what[:1].upper() + what[1:], "length": len(value), "limit": MAX_TEXT},
            code="text_too_long",
        )
    return value


def check_currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if code not in list_currencies():
        raise InvalidInput(
            _("%(code)s is not a currency code (ISO 4217, e.g. IDR, KRW, EUR).")
            % {"code": (currency or "")[:10]},
            code="unknown_currency",
        )
    return code


def check_amount(dispute: Dispute, amount, currency: str) -> Decimal:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("The amount is not a number."), code="amount_invalid") from None
    if not value.is_finite() or value <= 0:
        raise InvalidInput(_("The amount must be more than zero."), code="amount_not_positive")
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput(
            _("The amount may have at most two decimal places."), code="amount_invalid"
        )
    too_much = value >= MAX_AMOUNT or (
        currency == dispute.currency and value > dispute.amount * MAX_TIMES_CLAIM
    )
    if too_much:
        raise InvalidInput(
            _("%(amount)s %(currency)s is far more than this claim; check the amount.")
            % {"amount": value, "currency": currency},
            code="amount_absurd",
        )
    return value


def check_perform_by(dispute: Dispute, perform_by: dt.date | None, agency: Agency) -> dt.date:
    if perform_by is None:
        raise InvalidInput(
            _("Give the date by which it will be carried out."), code="perform_by_required"
        )
    today = agency_today(agency)
    if perform_by < today:
        raise InvalidInput(_("That date is in the past."), code="perform_by_in_past")
    if perform_by > today + dt.timedelta(days=MAX_PERFORM_DAYS):
        raise InvalidInput(
            _("The remedy must be carried out within a year."), code="perform_by_too_late"
        )
    return perform_by


def _merchant_side(dispute: Dispute, actor: Actor) -> None:
    if side_of(actor, dispute) != "merchant":
        raise NotAllowed(_("Only the merchant may do this."), code="actor_not_allowed")


def _engaged(dispute: Dispute) -> None:
    if dispute.status not in ENGAGED:
        raise IllegalTransition(
            _("This case is %(status)s; it no longer takes the merchant's answers.")
            % {"status": dispute.get_status_display()},
            code="illegal_transition",
        )


def _merchant_replies(dispute: Dispute, actor: Actor, language: str) -> Dispute:
    """The merchant's first answer opens the negotiation and stops the reply clock."""
    if dispute.merchant_replied_at is None:
        dispute.merchant_replied_at = timezone.now()
        dispute.save(update_fields=["merchant_replied_at"])
    if dispute.status == Status.MERCHANT_CONTACTED:
        with services.holding_lock(dispute):
            dispute = _apply_transition(
                dispute, "merchant_respond", actor, language=language, updates={}
            )
    return dispute


# --- the merchant's actions -------------------------------------------------------------------


@transaction.atomic
def merchant_respond(dispute: Dispute, *, actor: Actor, note: str = "", language: str = ""):
    """The negotiation opens because the merchant answered (applied from the partner's packet;
    on the merchant's own node every first answer does this itself)."""
    return _apply_transition(dispute, "merchant_respond", actor, text=note, language=language)


@transaction.atomic
def merchant_answer(dispute: Dispute, *, actor: Actor, text: str, language: str):
    """The merchant answers in writing: a message on the case, relayed like any other."""
    text = _text(text, _("your answer"))
    dispute = _locked(dispute)
    _merchant_side(dispute, actor)
    _engaged(dispute)
    dispute = _merchant_replies(dispute, actor, language)
    with services.holding_lock(dispute):
        return services.post_message(dispute, actor=actor, body=text, language=language)


@transaction.atomic
def merchant_add_document(
    dispute: Dispute, *, actor: Actor, name: str, content: bytes, note: str = "", language: str
):
    """A document from the merchant, checked and stored like evidence (by content, by hash)."""
    note = _text(note, _("the note"), required=False)
    dispute = _locked(dispute)
    _merchant_side(dispute, actor)
    _engaged(dispute)
    dispute = _merchant_replies(dispute, actor, language)
    with services.holding_lock(dispute):
        return services.add_document(
            dispute, actor=actor, name=name, content=content, note=note, language=language
        )


@transaction.atomic
def propose_terms(
    dispute: Dispute,
    *,
    actor: Actor,
    remedy: str,
    text: str,
    language: str,
    perform_by: dt.date | None,
    amount=None,
    currency: str = "",
) -> Dispute:
    """Put terms to the consumer: the merchant's proposal, or the agency's in mediation.

    A refund needs an amount and currency; every remedy needs the date by which it will be
    carried out. The consumer accepts (``services.accept_settlement``) or rejects
    (``services.reject_settlement``) them; the status stays until then.
    """
    if remedy not in RemedyKind.values:
        raise InvalidInput(_("Choose a remedy."), code="remedy_invalid")
    text = _text(text, _("the terms"), required=remedy == RemedyKind.OTHER)
    dispute = _locked(dispute)
    side = side_of(actor, dispute)
    if side not in ("merchant", "home", "partner"):
        raise NotAllowed(_("Only the merchant or an agency may propose terms."))
    _engaged(dispute)
    if amount not in (None, "") or remedy == RemedyKind.REFUND:
        currency = check_currency(currency)
        amount = check_amount(dispute, amount, currency)
    else:
        amount, currency = None, ""
    acting = dispute.partner_agency if dispute.partner_agency_id else dispute.home_agency
    perform_by = check_perform_by(dispute, perform_by, acting)
    if side == "merchant":
        dispute = _merchant_replies(dispute, actor, language)
    summary = text or RemedyKind(remedy).label
    dispute.settlement_proposal = str(summary)
    dispute.settlement_proposed_at = timezone.now()
    dispute.settlement_amount = amount
    dispute.settlement_currency = currency
    dispute.settlement_remedy = remedy
    dispute.settlement_due_on = perform_by
    dispute.save()
    services.record_event(
        dispute,
        actor,
        TimelineEvent.Kind.NOTE,
        text=str(summary),
        language=language,
        data={
            "event": "settlement_proposed",
            "remedy": remedy,
            "amount": str(amount) if amount is not None else None,
            "currency": currency,
            "perform_by": perform_by.isoformat(),
        },
    )
    return dispute


@transaction.atomic
def accept_requested_remedy(
    dispute: Dispute, *, actor: Actor, perform_by: dt.date | None, text: str = "", language: str
) -> Dispute:
    """The merchant grants what the consumer asked for: the case is settled on those terms."""
    text = _text(text, _("your note"), required=False)
    dispute = _locked(dispute)
    _merchant_side(dispute, actor)
    _engaged(dispute)
    acting = dispute.partner_agency if dispute.partner_agency_id else dispute.home_agency
    perform_by = check_perform_by(dispute, perform_by, acting)
    code = dispute.desired_remedy.code
    remedy = code if code in RemedyKind.values else RemedyKind.OTHER
    refund = remedy == RemedyKind.REFUND
    summary = text or _("The merchant grants the consumer's request: %(remedy)s.") % {
        "remedy": dispute.desired_remedy.name
    }
    if dispute.merchant_replied_at is None:
        dispute.merchant_replied_at = timezone.now()
    with services.holding_lock(dispute):
        return _apply_transition(
            dispute,
            "accept_requested_remedy",
            actor,
            text=summary,
            language=language,
            data={
                "remedy": remedy,
                "amount": str(dispute.amount) if refund else None,
                "currency": dispute.currency if refund else "",
                "perform_by": perform_by.isoformat(),
            },
            updates={
                "outcome_summary": summary,
                "settlement_remedy": remedy,
                "settlement_amount": dispute.amount if refund else None,
                "settlement_currency": dispute.currency if refund else "",
                "settlement_due_on": perform_by,
                "settlement_proposal": "",
                "settlement_proposed_at": None,
            },
        )


@transaction.atomic
def merchant_decline(dispute: Dispute, *, actor: Actor, reasons: str, language: str) -> Dispute:
    """The merchant declines the claim, with reasons; the agency takes it to mediation."""
    reasons = _text(reasons, _("your reasons"))
    dispute = _locked(dispute)
    _merchant_side(dispute, actor)
    if dispute.merchant_replied_at is None:
        dispute.merchant_replied_at = timezone.now()
    with services.holding_lock(dispute):
        return _apply_transition(
            dispute, "merchant_decline", actor, text=reasons, language=language, updates={}
        )


@transaction.atomic
def confirm_performance(
    dispute: Dispute, *, actor: Actor, performed_on: dt.date | None, note: str = "", language: str
) -> Dispute:
    """The merchant says the settlement was carried out (e.g. the refund paid on a date)."""
    note = _text(note, _("the note"), required=False)
    dispute = _locked(dispute)
    if side_of(actor, dispute) not in ("merchant", "home", "partner"):
        raise NotAllowed(_("Only the merchant may confirm this."), code="actor_not_allowed")
    if dispute.status != Status.SETTLED:
        raise IllegalTransition(_("Only a settled case can be carried out."), code="not_settled")
    if dispute.settlement_performed_on is not None:
        raise IllegalTransition(
            _("Carrying out the settlement was already confirmed."), code="already_confirmed"
        )
    acting = dispute.partner_agency if dispute.partner_agency_id else dispute.home_agency
    if performed_on is None or performed_on > agency_today(acting):
        raise InvalidInput(
            _("Give the date it was carried out; it cannot be in the future."),
            code="performed_on_invalid",
        )
    dispute.settlement_performed_on = performed_on
    dispute.settlement_performance_note = note
    dispute.save(update_fields=["settlement_performed_on", "settlement_performance_note"])
    services.record_event(
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
    note = _text(note, _("the note"), required=False)
    dispute = _locked(dispute)
    if side_of(actor, dispute) != "consumer":
        raise NotAllowed(_("Only the consumer may confirm this."), code="actor_not_allowed")
    if dispute.status not in (Status.SETTLED, Status.CLOSED) or not dispute.settlement_remedy:
        raise IllegalTransition(_("There is no settlement to confirm."), code="not_settled")
    if dispute.consumer_receipt == Receipt.RECEIVED:
        raise IllegalTransition(_("You already confirmed receipt."), code="already_confirmed")
    dispute.consumer_receipt = Receipt.RECEIVED if received else Receipt.NOT_RECEIVED
    dispute.save(update_fields=["consumer_receipt"])
    services.record_event(
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
    comment = _text(comment, _("the comment"), required=False)
    if aspect not in Rating.Aspect.values:
        raise InvalidInput(_("Choose what you rate."), code="aspect_invalid")
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidInput(_("Give a score from 1 to 5."), code="score_invalid")
    dispute = _locked(dispute)
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
    services.record_event(
        dispute,
        actor,
        TimelineEvent.Kind.NOTE,
        text=comment,
        language=language,
        data={"event": "rated", "aspect": aspect, "score": score},
        relay=False,
    )
    return rating


# --- the reply clock --------------------------------------------------------------------------


def clock_disputes():
    """Disputes whose merchant this node invited and who has not answered yet."""
    return Dispute.objects.filter(
        status=Status.MERCHANT_CONTACTED,
        merchant_reply_due_on__isnull=False,
        merchant_replied_at__isnull=True,
        merchant__isnull=False,
    )


def _clock_agency(dispute: Dispute) -> Agency:
    return _agency_of(dispute, _contact_side(dispute))


def remind_merchant(dispute: Dispute, now: dt.datetime | None = None) -> bool:
    """Remind the merchant once per reply deadline, when it is close; True if reminded now.

    "Once" is one conditional UPDATE: of two beat processes only one changes the row.
    """
    due = dispute.merchant_reply_due_on
    agency = _clock_agency(dispute)
    today = agency_today(agency, now)
    left = agency_calendar(agency, today).working_days_between(today, due) if due else None
    if left is None or left > REMINDER_WORKING_DAYS or today > due:
        return False
    with transaction.atomic():
        won = (
            Dispute.objects.filter(
                pk=dispute.pk,
                status=Status.MERCHANT_CONTACTED,
                merchant_reply_due_on=due,
                merchant_replied_at__isnull=True,
            )
            .exclude(merchant_reminded_for=due)
            .update(merchant_reminded_for=due)
        )
        if not won:
            return False
        dispute = _locked(dispute)
        services.record_event(
            dispute,
            Actor.system(),
            TimelineEvent.Kind.NOTE,
            text=_("The merchant was reminded that their answer is due on %(due)s.")
            % {"due": due.isoformat()},
            data={"event": "merchant_reminded", "due": due.isoformat()},
            visible_to_consumer=False,
            relay=False,
        )
        merchant_link_issued.send(sender=Dispute, dispute=dispute, kind="reminder")
    return True


@transaction.atomic
def record_merchant_silence(dispute: Dispute, now: dt.datetime | None = None) -> bool:
    """After the reply deadline, record that the merchant did not respond; True if now.

    The status check under the row lock makes it happen once, whoever else tries.
    """
    dispute = _locked(dispute)
    due = dispute.merchant_reply_due_on
    if (
        dispute.status != Status.MERCHANT_CONTACTED
        or due is None
        or dispute.merchant_replied_at is not None
        or agency_today(_clock_agency(dispute), now) <= due
    ):
        return False
    with services.holding_lock(dispute):
        _apply_transition(
            dispute,
            "record_merchant_silence",
            Actor.system(),
            text=_("The merchant did not respond by %(due)s.") % {"due": due.isoformat()},
            data={"due": due.isoformat()},
            updates={},
            now=now,
        )
    return True


@transaction.atomic
def merchant_did_not_respond(
    dispute: Dispute, *, actor: Actor, note: str = "", language: str = ""
) -> Dispute:
    """A caseworker records the merchant's silence by hand (the clock does it by itself)."""
    return _apply_transition(
        dispute, "record_merchant_silence", actor, text=note, language=language
    )


def run_merchant_clock(now: dt.datetime | None = None) -> tuple[int, int]:
    """Remind merchants whose reply is due soon; record silence after the deadline."""
    reminded = silenced = 0
    for dispute in clock_disputes().select_related("mou", "home_agency", "partner_agency"):
        if record_merchant_silence(dispute, now):
            silenced += 1
        elif remind_merchant(dispute, now):
            reminded += 1
    return reminded, silenced


# Transitions of this module, by name, as disputes.services.TRANSITION_SERVICES lists its own.
TRANSITION_SERVICES = {
    "merchant_respond": merchant_respond,
    "merchant_decline": merchant_decline,
    "record_merchant_silence": merchant_did_not_respond,
    "accept_requested_remedy": accept_requested_remedy,
}
