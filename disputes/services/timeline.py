"""The timeline: every change to a dispute is written as an event, and the event is published.

Owns: ``record_event`` (writes the event and sends ``disputes.events.timeline_event_recorded``
inside the caller's transaction, so the listeners' rows, such as an outgoing packet or a
consumer email, commit or roll back with the change), ``apply_transition`` (one lifecycle step:
lock, check status and side, apply, recompute deadlines, record) and ``require_text``.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from odr.errors import IllegalTransition, InvalidInput, NotAllowed

from ..events import timeline_event_recorded
from ..lifecycle import TRANSITIONS, allowed_sides
from ..models import Dispute, Message, TimelineEvent
from .actors import Actor, side_of, timeline_actor
from .deadlines import compute_deadlines
from .rows import lock_dispute


def record_event(
    dispute: Dispute,
    actor: Actor,
    kind: str,
    *,
    text: str = "",
    language: str = "",
    data: dict | None = None,
    from_status: str = "",
    to_status: str = "",
    visible_to_consumer: bool = True,
    relay: bool = True,
    message: Message | None = None,
) -> TimelineEvent:
    """Write a timeline event and publish it to the listeners, in the caller's transaction.

    ``relay=False`` (and any change applied from a partner's packet) tells the listeners not to
    send it to the partner. ``message`` is the message a message event is about, handed on so
    that listeners need not read it back.
    """
    event = TimelineEvent.objects.create(
        dispute=dispute,
        actor=timeline_actor(actor, dispute),
        actor_name=actor.name,
        user=actor.user if actor.user and actor.user.pk else None,
        kind=kind,
        text=text,
        language=language,
        data=data or {},
        from_status=from_status,
        to_status=to_status,
        visible_to_consumer=visible_to_consumer,
    )
    event.subject_message = message  # not a field: handed on in memory only
    timeline_event_recorded.send(
        sender=TimelineEvent, event=event, share_with_partner=relay and not actor.is_remote
    )
    return event


def apply_transition(
    dispute: Dispute,
    name: str,
    actor: Actor,
    *,
    text: str = "",
    language: str = "",
    data: dict | None = None,
    updates: dict | None = None,
    now: dt.datetime | None = None,
) -> Dispute:
    transition = TRANSITIONS[name]
    dispute = lock_dispute(dispute)
    if dispute.status not in transition.sources:
        raise IllegalTransition(
            _("A dispute that is %(status)s cannot be moved by “%(action)s”.")
            % {"status": dispute.get_status_display(), "action": name.replace("_", " ")},
            code="illegal_transition",
            details={"status": dispute.status, "transition": name},
        )
    partner_stages = dispute.mou.partner_stages if dispute.mou_id else None
    side = side_of(actor, dispute)
    if side not in allowed_sides(transition, dispute.status, partner_stages):
        raise NotAllowed(
            _("You may not “%(action)s” on this dispute.") % {"action": name.replace("_", " ")},
            code="actor_not_allowed",
            details={"side": side, "transition": name},
        )
    now = now or timezone.now()
    from_status = dispute.status
    for attribute, value in (updates or {}).items():
        setattr(dispute, attribute, value)
    dispute.status = transition.target
    dispute.status_changed_at = now
    compute_deadlines(dispute, now)
    dispute.save()
    record_event(
        dispute,
        actor,
        TimelineEvent.Kind.STATUS_CHANGED,
        text=text,
        language=language,
        data={"transition": name, **(data or {})},
        from_status=from_status,
        to_status=transition.target,
    )
    return dispute


def require_text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(_("Please give %(what)s.") % {"what": what}, code="required")
    return value


# --- filing -----------------------------------------------------------------------------------
