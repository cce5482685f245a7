"""Consumer notifications for timeline events.

A listener of ``disputes.events.timeline_event_recorded`` (connected in PortalConfig.ready),
called inside the domain transaction: the Notification row is written with the event (or not at
all), and the node's email sender is woken only after commit
(portal.tasks.send_notifications sends every due row in batches). The unique (event, kind)
constraint and ``sent_at`` make sure no event is ever emailed twice.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from disputes.models import TimelineEvent
from odr.celery import BROKER_ERRORS

from .models import Notification
from .tasks import wake_sender

logger = logging.getLogger(__name__)


def notification_kind(event: TimelineEvent) -> str | None:
    """Which email an event calls for, or None when the consumer need not hear about it."""
    Kind = TimelineEvent.Kind
    if event.kind == Kind.FILED:
        return Notification.Kind.FILING_RECEIPT
    if not event.visible_to_consumer or event.actor == TimelineEvent.Actor.CONSUMER:
        return None
    if event.kind == Kind.STATUS_CHANGED:
        return Notification.Kind.STATUS_CHANGED
    if event.kind == Kind.MESSAGE:
        return Notification.Kind.MESSAGE
    if event.kind == Kind.DOCUMENT:
        return Notification.Kind.DOCUMENT
    if event.kind == Kind.NOTE:
        if (event.data or {}).get("event") == "settlement_proposed":
            return Notification.Kind.SETTLEMENT_PROPOSED
        return Notification.Kind.UPDATE
    return None


def on_timeline_event(sender, *, event: TimelineEvent, **kwargs) -> None:
    """Receives ``timeline_event_recorded`` inside the transaction that wrote ``event``; queues
    the consumer's email."""
    dispute = event.dispute
    # Only the node where the consumer filed writes to them; a partner node holds a copy.
    if dispute.home_agency.code != settings.ODR_NODE or not dispute.consumer_email:
        return
    kind = notification_kind(event)
    if kind is None:
        return
    # The event was written just now in this transaction, so it cannot have a notification yet:
    # a plain insert, not get_or_create (which costs a select and a savepoint per event). The
    # unique (event, kind) constraint still refuses a second one.
    notification = Notification.objects.create(
        event=event,
        kind=kind,
        dispute=dispute,
        email=dispute.consumer_email,
        language=dispute.consumer_language or settings.LANGUAGE_CODE,
    )
    notification_id = notification.pk

    def send():
        # A broker that is down must not fail the change the caller has committed: the row is
        # there, and portal.tasks.send_pending_notifications wakes the sender once it is back.
        # While a sender is queued or running, this is one cache call and no publish.
        try:
            wake_sender()
        except BROKER_ERRORS as error:
            logger.warning(
                "could not queue notification %s (%s); the resend sweep will",
                notification_id,
                error,
            )

    transaction.on_commit(send)
