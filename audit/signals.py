"""Every change to a dispute is a timeline event, announced through the domain's one event
boundary (``disputes.events.timeline_event_recorded``) inside the transaction that made it; each
is written to the audit trail in that same transaction."""

from __future__ import annotations

from disputes.models import TimelineEvent

from .services import record_change


def on_timeline_event(sender, event: TimelineEvent, **kwargs) -> None:
    who = event.user or event.actor_name or event.actor
    what = event.kind
    if event.to_status:
        what = f"{event.kind}: {event.from_status or '-'} → {event.to_status}"
    record_change(who, event.dispute, what)
