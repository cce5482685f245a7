"""Applying a packet's body to the domain, through ``disputes.services``, as the sending agency.

Owns: ``apply_claims`` and one function per packet type. A remote change obeys the same
lifecycle checks as a local one (the services refuse what the partner may not do) and is never
sent back: the actor is the partner agency, and the domain's event says not to share it.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from agencies import refcache
from agencies.models import Agency, AgencyKey, Category, Country, DomesticBody, MoU
from agencies.services import pin_agency_key
from disputes import services as disputes
from disputes.evidence import store_evidence
from disputes.models import Dispute, Message, ProblemType, Remedy, Status, TimelineEvent
from disputes.services import Actor
from odr.errors import DomainError

from . import packets, refdata
from .models import PacketType
from .standing import record_partner_state

logger = logging.getLogger(__name__)


# Status transitions a partner may carry in dispute.status, with the keyword its text goes to.
STATUS_TEXT_ARGUMENT: dict[str, str | None] = {
    "accept_forwarded": None,
    "return_to_home": "reason",
    "contact_merchant": "note",
    "start_negotiation": "note",
    "start_mediation": "note",
    "close": "note",
    "withdraw": "reason",
    "request_clarification": "question",
    "provide_clarification": "answer",
    "refer_out_of_scope": "reason",
    "merchant_respond": "note",
    "merchant_decline": "reasons",
    "record_merchant_silence": "note",
    "accept_requested_remedy": "text",
}


# The inbox did not read the packet's dispute (a waiting packet applied later): look it up.
UNREAD = object()


def _remote_actor(sender: Agency, actor_kind: str, name: str = ""):
    if actor_kind in ("consumer", "merchant"):
        return Actor.agency(sender.code, name=name, on_behalf_of=actor_kind)
    return Actor.agency(sender.code, name=name)


def _local_dispute(claims: dict, sender: Agency, mou: MoU | None, found=UNREAD) -> Dispute:
    # The inbox's scope check read it already (under its lock, or found none), unless UNREAD.
    if found is UNREAD:
        found = Dispute.objects.filter(reference=claims["dispute"]).first()
    dispute = found
    if dispute is None:
        raise DomainError(
            _("Dispute %(reference)s is not known here.") % {"reference": claims["dispute"]},
            code="unknown_dispute",
        )
    # The agencies and MoU are in hand already: the services reuse them instead of loading them.
    here = refdata.this_agency()
    known = {sender.pk: sender, here.pk: here}
    if dispute.home_agency_id in known:
        dispute.home_agency = known[dispute.home_agency_id]
    if dispute.partner_agency_id in known:
        dispute.partner_agency = known[dispute.partner_agency_id]
    if mou is not None and dispute.mou_id == mou.pk:
        dispute.mou = mou
    return dispute


def apply_claims(
    claims: dict,
    sender: Agency,
    mou: MoU | None,
    now: dt.datetime,
    local=UNREAD,
    *,
    savepoint: bool = True,
) -> None:
    """Apply one packet to the domain through disputes.services, as the sending agency.

    ``local`` is the dispute as the inbox read it under its lock in this transaction (None: it
    is not known here), or UNREAD. ``savepoint=False``: a message is written in the caller's
    transaction as it is (no savepoint of its own, no look for an earlier copy), which the
    caller takes back whole if this raises."""
    body = claims["body"]
    packet_type = claims["type"]
    if packet_type == PacketType.PARTNER_PING:
        record_partner_state(body, mou, now)
        return
    if packet_type == PacketType.PARTNER_KEYS:
        _apply_keys(body, sender)
        return
    if packet_type == PacketType.DISPUTE_FORWARD:
        _apply_forward(claims, sender, mou, now, local)
        return
    dispute = _local_dispute(claims, sender, mou, local)
    if packet_type == PacketType.DISPUTE_MESSAGE:
        disputes.post_message(
            dispute,
            actor=_message_actor(body, sender, dispute),
            body=body["body"],
            language=body["language"],
            visible_to_consumer=body["visible_to_consumer"],
            uid=body["uid"],
            sent_at=parse_datetime(body["sent_at"]),
            savepoint=savepoint,
        )
    elif packet_type == PacketType.DISPUTE_DOCUMENT:
        file = body["file"]
        disputes.add_document(
            dispute,
            actor=_remote_actor(sender, body["actor_kind"], body["actor_name"]),
            name=file["name"],
            content=packets.file_content(file),
            note=body["note"],
            language=body["language"],
            visible_to_consumer=body["visible_to_consumer"],
        )
    elif packet_type == PacketType.DISPUTE_STATUS:
        _apply_status(body, sender, dispute)
    elif packet_type == PacketType.DISPUTE_OUTCOME:
        _apply_outcome(body, sender, dispute)


def _message_actor(body: dict, sender: Agency, dispute: Dispute, *, in_forward: bool = False):
    kind = body["author_kind"]
    if kind in ("consumer", "merchant"):
        return Actor.agency(sender.code, name=body["author_name"], on_behalf_of=kind)
    own_kind = "home_agency" if dispute.home_agency_id == sender.pk else "partner_agency"
    if kind != own_kind:
        if in_forward and Message.objects.filter(uid=body["uid"], dispute=dispute).exists():
            # The partner's own message, carried back in a later forward: already here.
            return Actor.agency(dispute.partner_agency.code, name=body["author_name"])
        raise DomainError(
            _("An agency may only write as itself, the consumer or the merchant."),
            code="not_allowed",
        )
    return Actor.agency(sender.code, name=body["author_name"])


def _apply_status(body: dict, sender: Agency, dispute: Dispute) -> None:
    actor = _remote_actor(sender, body["actor_kind"], body["actor_name"])
    transition = body["transition"]
    if transition is None:
        _apply_case_event(body, actor, dispute)
        return
    if transition not in STATUS_TEXT_ARGUMENT:
        raise DomainError(
            _("%(transition)s cannot arrive as a status packet.") % {"transition": transition},
            code="unsupported_transition",
        )
    service = disputes.TRANSITION_SERVICES[transition]
    kwargs: dict = {}
    argument = STATUS_TEXT_ARGUMENT[transition]
    if argument:
        kwargs[argument] = body["text"]
        kwargs["language"] = body["language"]
    if transition == "refer_out_of_scope":
        kwargs["body"] = _domestic_body(body["data"].get("referred_to"))
    if transition == "accept_requested_remedy":
        kwargs["perform_by"] = _date(body["data"].get("perform_by"))
    service(dispute, actor=actor, **kwargs)


def _date(value) -> dt.date | None:
    try:
        return parse_date(str(value)) if value else None
    except ValueError:
        return None


def _apply_case_event(body: dict, actor: Actor, dispute: Dispute) -> None:
    """A case event without a status change (``dispute.status`` with ``event`` set)."""
    event, data = body["event"], body["data"]
    if event == "settlement_proposed":
        amount = data.get("amount")
        disputes.propose_settlement(
            dispute,
            actor=actor,
            proposal=body["text"],
            language=body["language"],
            amount=Decimal(amount) if amount else None,
            currency=data.get("currency") or "",
            remedy=data.get("remedy") or "",
            perform_by=_date(data.get("perform_by")),
        )
    elif event == "settlement_rejected":
        disputes.reject_settlement(
            dispute, actor=actor, reason=body["text"], language=body["language"]
        )
    elif event == "performance_confirmed":
        disputes.confirm_performance(
            dispute,
            actor=actor,
            performed_on=_date(data.get("performed_on")),
            note=body["text"],
            language=body["language"],
        )
    else:  # receipt_confirmed, receipt_not_received (the schema allows no other)
        disputes.confirm_receipt(
            dispute,
            actor=actor,
            received=event == "receipt_confirmed",
            note=body["text"],
            language=body["language"],
        )


def _domestic_body(code) -> DomesticBody:
    body = DomesticBody.objects.filter(code=str(code or "")).first()
    if body is None:
        raise DomainError(
            _("Unknown domestic body %(code)s.") % {"code": code}, code="unknown_domestic_body"
        )
    return body


def _apply_outcome(body: dict, sender: Agency, dispute: Dispute) -> None:
    actor = _remote_actor(sender, body["actor_kind"], body["actor_name"])
    transition = body["transition"]
    amount = Decimal(body["settlement_amount"]) if body["settlement_amount"] else None
    if transition == "record_settlement":
        disputes.record_settlement(
            dispute,
            actor=actor,
            summary=body["summary"],
            language=body["language"],
            amount=amount,
            currency=body["settlement_currency"],
            remedy=body.get("settlement_remedy") or "",
            perform_by=_date(body.get("settlement_due_on")),
        )
    elif transition == "record_no_settlement":
        disputes.record_no_settlement(
            dispute, actor=actor, summary=body["summary"], language=body["language"]
        )
    elif transition == "accept_settlement":
        disputes.accept_settlement(dispute, actor=actor)
    else:
        disputes.refer_to_adjudication(
            dispute,
            actor=actor,
            body=_domestic_body(body["referred_to"]),
            reason=body["summary"],
            language=body["language"],
        )


def _apply_forward(claims: dict, sender: Agency, mou: MoU, now: dt.datetime, local=UNREAD) -> None:
    body = claims["body"]
    if body["reference"] != claims["dispute"]:
        raise DomainError(_("The forward names another dispute."), code="reference_mismatch")
    if local is UNREAD:
        existing = Dispute.objects.filter(reference=body["reference"]).first()
    else:
        existing = local
    actor = disputes.Actor.agency(sender.code)
    if existing is not None:
        # Forwarded again after the partner returned it.
        dispute = disputes.forward_dispute(existing, actor=actor, mou=mou)
    else:
        dispute = _create_forwarded(body, sender, mou, now)
    for file in body["evidence"]:
        store_evidence(
            dispute,
            name=file["name"],
            content=packets.file_content(file),
            uploaded_by=file["uploaded_by"],
        )
    for message in body["messages"]:
        disputes.post_message(
            dispute,
            actor=_message_actor(message, sender, dispute, in_forward=True),
            body=message["body"],
            language=message["language"],
            visible_to_consumer=message["visible_to_consumer"],
            uid=message["uid"],
            sent_at=parse_datetime(message["sent_at"]),
        )
    disputes.record_event(
        dispute,
        actor,
        TimelineEvent.Kind.PACKET,
        text=_("Case received from %(agency)s under %(mou)s.")
        % {"agency": sender.short_name, "mou": mou.reference},
        data={"packet": claims["pid"], "type": claims["type"], "mou": mou.reference},
        visible_to_consumer=False,
        relay=False,
    )


def _create_forwarded(body: dict, sender: Agency, mou: MoU, now: dt.datetime) -> Dispute:
    def one(model, code, what):
        found = refcache.by_code(model, code)
        if found is None:
            raise DomainError(
                _("Unknown %(what)s %(code)s.") % {"what": what, "code": code}, code="unknown_code"
            )
        return found

    problems = [
        one(ProblemType, code, "problem type") for code in sorted(set(body["problem_types"]))
    ]
    purchase, consumer, merchant = body["purchase"], body["consumer"], body["merchant"]
    filed_at = parse_datetime(body["filed_at"]) or now
    dispute = Dispute(
        reference=body["reference"],
        home_agency=sender,
        partner_agency=refdata.this_agency(),
        mou=mou,
        consumer_name=consumer["name"],
        # Contact details stay with the home agency (see forward_body).
        consumer_email="",
        consumer_phone="",
        consumer_country=one(Country, consumer["country"], "country"),
        consumer_language=consumer["language"],
        merchant_name=merchant["name"],
        merchant_website=merchant["website"],
        merchant_key=disputes.dispute_merchant_key(merchant["website"]),
        merchant_country=one(Country, merchant["country"], "country"),
        merchant_contact=merchant["contact"],
        purchase_date=parse_date(purchase["date"]),
        order_number=purchase["order_number"],
        amount=Decimal(purchase["amount"]),
        currency=purchase["currency"],
        payment_method=purchase["payment_method"],
        platform=purchase["platform"],
        category=one(Category, body["category"], "category"),
        desired_remedy=one(Remedy, body["desired_remedy"], "remedy"),
        consumer_account=body["account"]["text"],
        filing_language=body["account"]["language"],
        intake_channel=body["intake_channel"],
        status=Status.FORWARDED,
        status_changed_at=now,
        filed_at=filed_at,
    )
    # The inbox found no dispute with this reference under the stream's lock.
    disputes.check_values(dispute, exclude=["consumer_email"])
    if dispute.amount < 0:
        raise DomainError(_("The amount cannot be negative."), code="amount_negative")
    disputes.compute_deadlines(dispute, now)
    dispute.save()
    dispute.problem_types.add(*problems)  # a new dispute has none: no need to read them first
    disputes.record_event(
        dispute,
        disputes.Actor.agency(sender.code),
        TimelineEvent.Kind.STATUS_CHANGED,
        text=_("Forwarded by %(agency)s.") % {"agency": sender.short_name},
        data={"transition": "forward", "mou": mou.reference, "partner": refdata.this_agency().code},
        from_status=Status.UNDER_REVIEW,
        to_status=Status.FORWARDED,
        relay=False,
    )
    return dispute


def _apply_keys(body: dict, sender: Agency) -> None:
    for jwk in body["keys"]:
        not_before = parse_datetime(jwk["not_before"]) if jwk.get("not_before") else None
        public = {name: jwk[name] for name in ("kty", "crv", "x", "kid", "use")}
        pin_agency_key(sender, public, not_before=not_before)
    for retired in body["retire"]:
        AgencyKey.objects.filter(agency=sender, kid=retired["kid"]).update(
            not_after=parse_datetime(retired["not_after"])
        )
