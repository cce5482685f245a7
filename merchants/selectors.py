"""Reads for the merchant's pages: the complaint without the consumer's contact details."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from disputes.models import Dispute, Evidence, Message, Status, TimelineEvent

# What the merchant may see of the case; never the consumer's email, phone or address.
COMPLAINT_FIELDS = (
    "reference",
    "merchant_name",
    "purchase_date",
    "order_number",
    "amount",
    "currency",
    "platform",
    "consumer_account",
    "filing_language",
)
ENGAGED = (Status.MERCHANT_CONTACTED, Status.NEGOTIATION, Status.MEDIATION)


def account_translation(dispute: Dispute, language: str):
    """The caseworker's translation of the consumer's account into ``language``, else into the
    merchant's language, else None."""
    translations = {item.language: item for item in dispute.account_translations.all()}
    return translations.get(language) or translations.get(dispute.merchant.language)


def merchant_documents(dispute: Dispute) -> QuerySet[Evidence]:
    """The consumer's evidence and the merchant's own documents (not the agencies' files)."""
    return dispute.evidence.filter(
        Q(uploaded_by=Evidence.UploadedBy.CONSUMER) | Q(uploaded_by=Evidence.UploadedBy.MERCHANT)
    ).order_by("uploaded_at", "pk")


def merchant_messages(dispute: Dispute) -> list[Message]:
    return list(
        dispute.messages.filter(author_kind=Message.Author.MERCHANT).prefetch_related(
            "translations"
        )
    )


# The settlement steps the merchant sees, with what each means in the merchant's words.
SETTLEMENT_STEPS = {
    "settlement_proposed": gettext_lazy("Terms were proposed to the customer."),
    "settlement_rejected": gettext_lazy("The customer rejected the proposal."),
    "performance_confirmed": gettext_lazy("Carrying out the settlement was confirmed."),
    "receipt_confirmed": gettext_lazy("The customer confirmed receipt."),
    "receipt_not_received": gettext_lazy("The customer says it has not arrived."),
}


def event_label(event: TimelineEvent) -> str:
    if event.kind == TimelineEvent.Kind.STATUS_CHANGED:
        return _("Status: %(status)s") % {"status": Status(event.to_status).label}
    return str(SETTLEMENT_STEPS.get(event.data.get("event"), ""))


def merchant_events(dispute: Dispute) -> list[tuple[TimelineEvent, str]]:
    """What happened that the merchant takes part in: status changes and settlement steps,
    each with what it means in the merchant's words."""
    return [(event, event_label(event)) for event in _merchant_events(dispute)]


def _merchant_events(dispute: Dispute) -> list[TimelineEvent]:
    return list(
        dispute.timeline.filter(
            Q(kind=TimelineEvent.Kind.STATUS_CHANGED, from_status__in=[*ENGAGED, ""])
            | Q(kind=TimelineEvent.Kind.STATUS_CHANGED, to_status__in=ENGAGED)
            | Q(
                kind=TimelineEvent.Kind.NOTE,
                data__event__in=list(SETTLEMENT_STEPS),
            )
        )
        .exclude(kind=TimelineEvent.Kind.STATUS_CHANGED, to_status=Status.SUBMITTED)
        .only("at", "kind", "actor", "to_status", "data", "text", "language")
    )


def merchant_can_act(dispute: Dispute) -> bool:
    return dispute.status in ENGAGED


def merchant_can_confirm_performance(dispute: Dispute) -> bool:
    return dispute.status == Status.SETTLED and dispute.settlement_performed_on is None
