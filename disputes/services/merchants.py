"""The merchant takes part: recorded once per node, invited with a link, and answering.

Owns the merchant on record (``record_merchant``, ``merchant_key``), the invitation and its link
version (``invite_merchant``, ``revoke_merchant_link``; ``disputes.events.merchant_link_issued``
tells the app that emails the merchant), and the merchant's actions: an answer, a document, a
proposal (``transitions.propose_settlement``), granting the consumer's request, declining. The
merchant's first answer opens the negotiation and stops the reply clock (``reply_clock``).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency, Country
from agencies.selectors import agency_calendar
from odr.errors import IllegalTransition, InvalidInput, NotAllowed

from ..events import merchant_link_issued
from ..lifecycle import TRANSITIONS, allowed_sides
from ..models import AccountTranslation, Dispute, Merchant, RemedyKind, Status, TimelineEvent
from .actors import Actor, side_of
from .deadlines import agency_today
from .merchant_identity import merchant_key, normalise_domain
from .messages import add_document, post_message, store_translation
from .rows import holding_lock, lock_dispute
from .terms import check_perform_by, check_text
from .timeline import apply_transition, record_event, require_text
from .transitions import propose_settlement

ENGAGED = (Status.MERCHANT_CONTACTED, Status.NEGOTIATION, Status.MEDIATION)


def merchant_actor(name: str = "") -> Actor:
    """The merchant, acting through their link on this node."""
    return Actor("merchant", name or "merchant")


# --- the merchant on record -------------------------------------------------------------------


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
    name = require_text(name, _("the merchant's name"))
    contact_email = require_text(contact_email, _("the merchant's email address"))
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


def contact_side(dispute: Dispute) -> str:
    """home or partner: who deals with the merchant under the dispute's MoU."""
    stages = dispute.mou.partner_stages if dispute.mou_id else None
    return next(
        iter(allowed_sides(TRANSITIONS["contact_merchant"], Status.ACCEPTED_BY_PARTNER, stages))
    )


def agency_of(dispute: Dispute, side: str) -> Agency:
    return dispute.partner_agency if side == "partner" else dispute.home_agency


@transaction.atomic
def invite_merchant(
    dispute: Dispute, *, actor: Actor, merchant: Merchant, note: str = "", language: str = ""
) -> Dispute:
    """Give the merchant a new link to the case and send it; a link sent before stops working.

    The first invitation records that the merchant was contacted and starts the reply clock
    (the MoU's working days on the inviting agency's calendar); a resend keeps the clock.
    """
    dispute = lock_dispute(dispute)
    side = side_of(actor, dispute)
    if side not in ("home", "partner") or side != contact_side(dispute):
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
        # The caseworker's record of who the merchant is now groups the dispute.
        "merchant_key": merchant.key,
        "merchant_link_version": dispute.merchant_link_version + 1,
        "merchant_invited_at": now,
    }
    if dispute.merchant_reply_due_on is None and dispute.status in (
        Status.ACCEPTED_BY_PARTNER,
        Status.MERCHANT_CONTACTED,
    ):
        agency = agency_of(dispute, side)
        today = agency_today(agency, now)
        days = dispute.mou.merchant_reply_days if dispute.mou_id else 7
        updates["merchant_reply_due_on"] = agency_calendar(agency, today).add_working_days(
            today, days
        )
    with holding_lock(dispute):
        if dispute.status == Status.ACCEPTED_BY_PARTNER:
            dispute = apply_transition(
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
    record_event(
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
    dispute = lock_dispute(dispute)
    if side_of(actor, dispute) not in ("home", "partner"):
        raise NotAllowed(_("Only a caseworker may revoke the merchant's link."))
    dispute.merchant_link_version += 1
    dispute.save(update_fields=["merchant_link_version"])
    record_event(
        dispute,
        actor,
        TimelineEvent.Kind.NOTE,
        text=_("The merchant's link was revoked."),
        data={"event": "merchant_link_revoked"},
        visible_to_consumer=False,
        relay=False,
    )
    return dispute


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
        with holding_lock(dispute):
            dispute = apply_transition(
                dispute, "merchant_respond", actor, language=language, updates={}
            )
    return dispute


# --- the merchant's actions -------------------------------------------------------------------


@transaction.atomic
def merchant_respond(dispute: Dispute, *, actor: Actor, note: str = "", language: str = ""):
    """The negotiation opens because the merchant answered (applied from the partner's packet;
    on the merchant's own node every first answer does this itself)."""
    return apply_transition(dispute, "merchant_respond", actor, text=note, language=language)


@transaction.atomic
def merchant_answer(dispute: Dispute, *, actor: Actor, text: str, language: str):
    """The merchant answers in writing: a message on the case, relayed like any other."""
    text = check_text(text, _("your answer"))
    dispute = lock_dispute(dispute)
    _merchant_side(dispute, actor)
    _engaged(dispute)
    dispute = _merchant_replies(dispute, actor, language)
    with holding_lock(dispute):
        return post_message(dispute, actor=actor, body=text, language=language)


@transaction.atomic
def merchant_add_document(
    dispute: Dispute, *, actor: Actor, name: str, content: bytes, note: str = "", language: str
):
    """A document from the merchant, checked and stored like evidence (by content, by hash)."""
    note = check_text(note, _("the note"), required=False)
    dispute = lock_dispute(dispute)
    _merchant_side(dispute, actor)
    _engaged(dispute)
    dispute = _merchant_replies(dispute, actor, language)
    with holding_lock(dispute):
        return add_document(
            dispute, actor=actor, name=name, content=content, note=note, language=language
        )


@transaction.atomic
def merchant_propose(
    dispute: Dispute,
    *,
    actor: Actor,
    remedy: str,
    text: str = "",
    language: str,
    perform_by: dt.date | None,
    amount=None,
    currency: str = "",
) -> Dispute:
    """The merchant puts terms to the consumer (``transitions.propose_settlement``)."""
    dispute = lock_dispute(dispute)
    _merchant_side(dispute, actor)
    _engaged(dispute)
    dispute = _merchant_replies(dispute, actor, language)
    with holding_lock(dispute):
        return propose_settlement(
            dispute,
            actor=actor,
            proposal=text,
            language=language,
            amount=amount,
            currency=currency,
            remedy=remedy,
            perform_by=perform_by,
        )


@transaction.atomic
def merchant_did_not_respond(
    dispute: Dispute, *, actor: Actor, note: str = "", language: str = ""
) -> Dispute:
    """A caseworker records the merchant's silence by hand (the reply clock does it itself)."""
    return apply_transition(dispute, "record_merchant_silence", actor, text=note, language=language)


@transaction.atomic
def accept_requested_remedy(
    dispute: Dispute, *, actor: Actor, perform_by: dt.date | None, text: str = "", language: str
) -> Dispute:
    """The merchant grants what the consumer asked for: the case is settled on those terms."""
    text = check_text(text, _("your note"), required=False)
    dispute = lock_dispute(dispute)
    _merchant_side(dispute, actor)
    _engaged(dispute)
    perform_by = check_perform_by(dispute, perform_by, checked_here=not actor.is_remote)
    code = dispute.desired_remedy.code
    remedy = code if code in RemedyKind.values else RemedyKind.OTHER
    refund = remedy == RemedyKind.REFUND
    summary = text or _("The merchant grants the consumer's request: %(remedy)s.") % {
        "remedy": dispute.desired_remedy.name
    }
    if dispute.merchant_replied_at is None:
        dispute.merchant_replied_at = timezone.now()
    with holding_lock(dispute):
        return apply_transition(
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
    reasons = check_text(reasons, _("your reasons"))
    dispute = lock_dispute(dispute)
    _merchant_side(dispute, actor)
    if dispute.merchant_replied_at is None:
        dispute.merchant_replied_at = timezone.now()
    with holding_lock(dispute):
        return apply_transition(
            dispute, "merchant_decline", actor, text=reasons, language=language, updates={}
        )


@transaction.atomic
def translate_account(
    dispute: Dispute, *, actor: Actor, language: str, body: str
) -> AccountTranslation:
    """A caseworker's translation of the consumer's account, shown to the merchant beside the
    original (which is never changed); a second one into the same language replaces it."""
    if actor.kind not in ("caseworker", "agency") or side_of(actor, dispute) not in (
        "home",
        "partner",
    ):
        raise NotAllowed(_("Only caseworkers add translations."), code="actor_not_allowed")
    body = check_text(body, _("the translation"))
    return store_translation(
        dispute.account_translations,
        actor=actor,
        language=language,
        body=body,
        original_language=dispute.filing_language,
    )


# This stage's transitions, by name (``services.TRANSITION_SERVICES`` lists them with the rest).
MERCHANT_TRANSITION_SERVICES = {
    "merchant_respond": merchant_respond,
    "merchant_decline": merchant_decline,
    "record_merchant_silence": merchant_did_not_respond,
    "accept_requested_remedy": accept_requested_remedy,
}
