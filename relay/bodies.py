"""What a timeline event becomes on the wire: the body of the case packet that carries it.

Owns: ``packet_for_event`` (which events are shared, as which packet type) and one function per
body (forward, message, document, status, outcome). Pure: reads the dispute, writes nothing.
The opposite direction, a body applied to the domain, is ``relay.apply``; the bodies' schemas
are in relay/schemas/ and docs/protocol.md.
"""

from __future__ import annotations

import datetime as dt
import logging

from disputes.models import Dispute, Evidence, Message, TimelineEvent

from . import packets
from .models import PacketType

logger = logging.getLogger(__name__)


OUTCOME_TRANSITIONS = frozenset(
    {"record_settlement", "record_no_settlement", "accept_settlement", "refer_to_adjudication"}
)
# Case events without a status change that travel in dispute.status (``event``).
NOTE_EVENTS = frozenset(
    {
        "settlement_proposed",
        "settlement_rejected",
        "performance_confirmed",
        "receipt_confirmed",
        "receipt_not_received",
    }
)

ACTOR_KIND = {
    TimelineEvent.Actor.CONSUMER: "consumer",
    TimelineEvent.Actor.MERCHANT: "merchant",
    TimelineEvent.Actor.HOME_AGENCY: "home_agency",
    TimelineEvent.Actor.PARTNER_AGENCY: "partner_agency",
    TimelineEvent.Actor.SYSTEM: "system",
}


def packet_for_event(event: TimelineEvent, dispute: Dispute) -> tuple[str, dict] | None:
    data = event.data or {}
    if event.kind == TimelineEvent.Kind.STATUS_CHANGED:
        transition = data.get("transition")
        if transition == "forward":
            return PacketType.DISPUTE_FORWARD, forward_body(dispute, event.at)
        if transition in OUTCOME_TRANSITIONS:
            return PacketType.DISPUTE_OUTCOME, outcome_body(event, dispute)
        return PacketType.DISPUTE_STATUS, status_body(event)
    if event.kind == TimelineEvent.Kind.MESSAGE:
        message = getattr(event, "subject_message", None) or Message.objects.get(
            uid=data["message_uid"]
        )
        return PacketType.DISPUTE_MESSAGE, message_body(message)
    if event.kind == TimelineEvent.Kind.DOCUMENT:
        evidence = dispute.evidence.get(sha256=data["sha256"])
        return PacketType.DISPUTE_DOCUMENT, document_body(evidence, event)
    if event.kind == TimelineEvent.Kind.NOTE and data.get("event") in NOTE_EVENTS:
        return PacketType.DISPUTE_STATUS, status_body(event)
    return None


def _evidence_form(evidence: Evidence) -> dict:
    with evidence.file.open("rb") as handle:
        content = handle.read()
    return packets.file_form(
        name=evidence.original_name,
        content=content,
        content_type=evidence.content_type,
        uploaded_by=evidence.uploaded_by,
        uploaded_at=evidence.uploaded_at,
    )


def message_body(message: Message) -> dict:
    return {
        "uid": message.uid,
        "author_kind": message.author_kind,
        "author_name": message.author_name[:200],
        "body": message.body,
        "language": message.language,
        "visible_to_consumer": message.visible_to_consumer,
        "sent_at": message.sent_at.isoformat(),
    }


def forward_body(dispute: Dispute, at: dt.datetime) -> dict:
    """The whole case for the partner. The consumer's email and phone stay with the home agency,
    which alone contacts the consumer; the partner gets what it needs to take up the complaint
    with the merchant."""
    return {
        "reference": dispute.reference,
        "home_agency": dispute.home_agency.code,
        "partner_agency": dispute.partner_agency.code,
        "mou": dispute.mou.reference,
        "filed_at": dispute.filed_at.isoformat(),
        "forwarded_at": at.isoformat(),
        "consumer": {
            "name": dispute.consumer_name,
            "country": dispute.consumer_country_id,
            "language": dispute.consumer_language,
        },
        "merchant": {
            "name": dispute.merchant_name,
            "website": dispute.merchant_website,
            "country": dispute.merchant_country_id,
            "contact": dispute.merchant_contact,
        },
        "purchase": {
            "date": dispute.purchase_date.isoformat(),
            "order_number": dispute.order_number,
            "amount": f"{dispute.amount:.2f}",
            "currency": dispute.currency,
            "payment_method": dispute.payment_method,
            "platform": dispute.platform,
        },
        "category": dispute.category.code,
        "problem_types": sorted(dispute.problem_types.values_list("code", flat=True)),
        "desired_remedy": dispute.desired_remedy.code,
        "account": {"text": dispute.consumer_account, "language": dispute.filing_language},
        "intake_channel": dispute.intake_channel,
        "evidence": [_evidence_form(evidence) for evidence in dispute.evidence.order_by("pk")],
        "messages": [message_body(m) for m in dispute.messages.order_by("sent_at", "pk")],
    }


def _scalar_data(data: dict) -> dict:
    return {
        key: value
        for key, value in (data or {}).items()
        if isinstance(value, str | int | float | bool) or value is None
    }


def status_body(event: TimelineEvent) -> dict:
    data = event.data or {}
    return {
        "transition": data.get("transition"),
        "event": None if data.get("transition") else data.get("event"),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor_kind": ACTOR_KIND.get(event.actor, "system"),
        "actor_name": event.actor_name[:200],
        "text": event.text,
        "language": event.language,
        "at": event.at.isoformat(),
        "data": _scalar_data({k: v for k, v in data.items() if k not in ("transition", "event")}),
    }


def outcome_body(event: TimelineEvent, dispute: Dispute) -> dict:
    data = event.data or {}
    amount = dispute.settlement_amount
    body = {
        "transition": data["transition"],
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor_kind": ACTOR_KIND.get(event.actor, "system"),
        "actor_name": event.actor_name[:200],
        "summary": dispute.outcome_summary or event.text,
        "language": event.language,
        "settlement_amount": f"{amount:.2f}" if amount is not None else None,
        "settlement_currency": dispute.settlement_currency if amount is not None else "",
        "referred_to": data.get("referred_to"),
        "at": event.at.isoformat(),
    }
    if dispute.settlement_remedy and data["transition"] == "record_settlement":
        # Members added within v1: sent only when there is something to say, so an outcome
        # without them is the same packet a partner on an earlier release understands.
        due = dispute.settlement_due_on
        body["settlement_remedy"] = dispute.settlement_remedy
        body["settlement_due_on"] = due.isoformat() if due else None
    return body


def document_body(evidence: Evidence, event: TimelineEvent) -> dict:
    return {
        "file": _evidence_form(evidence),
        "actor_kind": ACTOR_KIND.get(event.actor, "system"),
        "actor_name": event.actor_name[:200],
        "note": event.text,
        "language": event.language,
        "visible_to_consumer": event.visible_to_consumer,
    }
