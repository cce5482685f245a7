"""Small display helpers for the consumer's pages and emails."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from disputes.models import Status, TimelineEvent

register = template.Library()


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
        return _("Status changed to: %(status)s") % {"status": status_label(event.to_status)}
    if event.kind == TimelineEvent.Kind.MESSAGE:
        return _("Message")
    if event.kind == TimelineEvent.Kind.DOCUMENT:
        return _("Document added: %(name)s") % {"name": data.get("name", "")}
    if data.get("event") == "settlement_proposed":
        return _("Settlement proposed")
    if data.get("event") == "settlement_rejected":
        return _("Settlement proposal rejected")
    return _("Update")


@register.filter
def actor_label(event: TimelineEvent) -> str:
    if event.actor == TimelineEvent.Actor.CONSUMER:
        return _("You")
    if event.actor == TimelineEvent.Actor.HOME_AGENCY:
        return event.dispute.home_agency.short_name
    if event.actor == TimelineEvent.Actor.PARTNER_AGENCY and event.dispute.partner_agency_id:
        return event.dispute.partner_agency.short_name
    return str(event.get_actor_display())
