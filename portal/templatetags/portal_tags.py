"""Small display helpers for the consumer's pages and emails."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from disputes.models import Status, TimelineEvent

register = template.Library()

# What the merchant's part of the case means to the consumer, by transition.
MERCHANT_TRANSITIONS = {
    "merchant_respond": gettext_lazy("The merchant answered; negotiation started"),
    "merchant_decline": gettext_lazy("The merchant declined your claim; the agency will mediate"),
    "record_merchant_silence": gettext_lazy(
        "The merchant did not answer in time; the agency will mediate"
    ),
    "accept_requested_remedy": gettext_lazy("The merchant accepted your request; settled"),
}


@register.filter
def status_label(value: str) -> str:
    return str(dict(Status.choices).get(value, value))


@register.filter
def event_summary(event: TimelineEvent) -> str:
    """What happened, in words a consumer understands."""
    data = event.data or {}
    if event.kind == TimelineEvent.Kind.FILED:
        return _("Dispute filed")
    if event.kind == TimelineEvent.Kind.STATUS_CHANGED:
        if data.get("transition") in MERCHANT_TRANSITIONS:
            return str(MERCHANT_TRANSITIONS[data["transition"]])
        return _("Status changed to: %(status)s") % {"status": status_label(event.to_status)}
    if event.kind == TimelineEvent.Kind.MESSAGE:
        return _("Message")
    if event.kind == TimelineEvent.Kind.DOCUMENT:
        return _("Document added: %(name)s") % {"name": data.get("name", "")}
    summary = {
        "settlement_proposed": _("Settlement proposed"),
        "settlement_rejected": _("Settlement proposal rejected"),
        "performance_confirmed": _("The merchant says the settlement was carried out"),
        "receipt_confirmed": _("You confirmed receipt"),
        "receipt_not_received": _("You said it has not arrived"),
        "rated": _("You rated the case"),
    }.get(data.get("event"))
    return str(summary) if summary else _("Update")


@register.filter
def actor_label(event: TimelineEvent) -> str:
    if event.actor == TimelineEvent.Actor.CONSUMER:
        return _("You")
    if event.actor == TimelineEvent.Actor.HOME_AGENCY:
        return event.dispute.home_agency.short_name
    if event.actor == TimelineEvent.Actor.PARTNER_AGENCY and event.dispute.partner_agency_id:
        return event.dispute.partner_agency.short_name
    return str(event.get_actor_display())
