"""Celery tasks of the portal: consumer emails and the draft clean-up. They take ids only.

Consumer emails are sent by one sender loop per node (``send_notifications``), in batches, from
the Notification rows: a commit or the beat sweep only wakes it. The loop is the pattern of
``relay.tasks.deliver_to_partner``: a "queued" mark keeps commits from queuing a second task
while one waits or runs, a "sending" mark keeps a second loop from starting.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage

from odr.celery import BROKER_ERRORS, publish
from odr.marks import clear_mark, drain_alone, set_mark

logger = logging.getLogger(__name__)

RETRY = {
    "autoretry_for": (OSError, ConnectionError),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 10,
}
# A queued sender that was lost (broker flushed) stops blocking commits this long after it was
# due to start (ODR_EMAIL_BATCH_SECONDS after its wake-up); the sweep wakes the sender again.
QUEUED_MARK_SECONDS = 30
# A sender killed mid-loop frees the loop after this. A live loop that runs longer (a large
# backlog) may get a second one beside it, which is safe: they claim different rows.
SENDING_MARK_SECONDS = 300


def _mail_key(kind: str) -> str:
    # Several nodes (and test databases) share one Redis: name the database.
    return f"portal:mail:{kind}:{settings.DATABASES['default']['NAME']}"


def mark_queued() -> bool:
    """False if a sender task is waiting or running; True (queue one) otherwise."""
    return set_mark(_mail_key("queued"), QUEUED_MARK_SECONDS + settings.ODR_EMAIL_BATCH_SECONDS)


def unmark_queued() -> None:
    clear_mark(_mail_key("queued"))


def wake_sender() -> bool:
    """Queue the sender unless one is queued or running; True if this call queued it.

    The sender starts ODR_EMAIL_BATCH_SECONDS later: the wake-ups of the changes committed
    meanwhile find it queued, and their emails go out in its batch.

    Raises one of ``BROKER_ERRORS`` (after clearing the mark) when the broker is down.
    """
    if not mark_queued():
        return False
    try:
        publish(
            lambda: send_notifications.apply_async(
                countdown=settings.ODR_EMAIL_BATCH_SECONDS or None
            )
        )
    except BROKER_ERRORS:
        unmark_queued()
        raise
    return True


@shared_task(acks_late=True, ignore_result=True)
def send_notifications() -> int:
    """Send the consumer emails that are due, in batches; returns how many were attempted.

    One loop runs at a time (a second task leaves the work to the first). The queued mark stays
    set while it runs, so commits queue no more tasks. The loop goes on while its batches are
    full; after a smaller one it stops, and what was written meanwhile waits for the next run,
    ODR_EMAIL_BATCH_SECONDS later, so that a dispute's news of those seconds goes out in one
    email rather than one email each as they trickle in. The loop clears its marks before it
    stops and then looks once more, so a row committed just then is not left for the sweep.
    """
    from .mailer import BATCH_SIZE, has_due_notifications, send_due_notifications

    attempted = 0

    def step() -> int:
        nonlocal attempted
        count = send_due_notifications()
        attempted += count
        return count if count >= BATCH_SIZE else 0

    drain_alone(
        _mail_key("sending"),
        SENDING_MARK_SECONDS,
        _mail_key("queued"),
        step=step,
        more_due=lambda: False,
    )
    if has_due_notifications():
        try:
            wake_sender()
        except BROKER_ERRORS as error:
            logger.warning("could not queue the email sender (%s); the sweep will", error)
    return attempted


@shared_task(acks_late=True, ignore_result=True)
def send_notification(notification_id: int | None = None) -> int:
    """Compatibility shim: tasks of the former one-task-per-email design may still wait in a
    broker during an upgrade. Runs the batch sender, which sends that row if it is due. Remove
    it a release after the upgrade."""
    return send_notifications()


@shared_task(bind=True, **RETRY)
def send_tracking_link(self, dispute_id: int) -> bool:
    """A fresh tracking link, asked for on the "find my dispute" page."""
    from disputes.models import Dispute

    from .mailer import email_context, render_email

    dispute = Dispute.objects.select_related("home_agency").filter(pk=dispute_id).first()
    if dispute is None:
        return False
    language = dispute.consumer_language or settings.LANGUAGE_CODE
    subject, body = render_email("tracking_link", email_context(dispute), language)
    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [dispute.consumer_email]).send()
    return True


@shared_task(ignore_result=True)
def send_pending_notifications() -> int:
    """Beat sweep: wake the sender if an email is due (its wake-up was lost, the broker was
    down, or a retry's time has come). Returns how many sender tasks it queued (0 or 1)."""
    from .mailer import has_due_notifications

    if has_due_notifications() and wake_sender():
        return 1
    return 0


@shared_task
def purge_expired_drafts() -> int:
    from .services import purge_expired_drafts as purge

    count = purge()
    if count:
        logger.info("purged %s expired drafts", count)
    return count
