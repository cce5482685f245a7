"""Celery tasks of the portal: consumer emails and the draft clean-up. They take ids only."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation

logger = logging.getLogger(__name__)

RETRY = {
    "autoretry_for": (OSError, ConnectionError),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 10,
}


def render_email(template: str, context: dict, language: str) -> tuple[str, str]:
    """Subject and body of an email, in the consumer's language."""
    with translation.override(language):
        subject = render_to_string(f"portal/email/{template}_subject.txt", context)
        body = render_to_string(f"portal/email/{template}.txt", context)
    return " ".join(subject.split()), body


def _email_context(dispute) -> dict:
    from agencies.selectors import this_agency

    from .tokens import tracking_url

    return {
        "dispute": dispute,
        "agency": this_agency(),
        "tracking_url": tracking_url(dispute),
        "link_days": settings.ODR_TRACKING_LINK_MAX_AGE_DAYS,
        "find_url": settings.ODR_PUBLIC_URL + "/find/",
    }


@shared_task(bind=True, **RETRY)
def send_notification(self, notification_id: int) -> bool:
    """Send one notification email once; a second run finds ``sent_at`` set and does nothing."""
    from .models import Notification
    from .selectors import plain_status

    try:
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update()
                .select_related("event", "dispute__home_agency")
                .filter(pk=notification_id)
                .first()
            )
            if notification is None or notification.sent_at is not None:
                return False
            dispute = notification.dispute
            context = _email_context(dispute) | {
                "notification": notification,
                "event": notification.event,
                "kind": notification.kind,
            }
            with translation.override(notification.language):
                context["plain_status"] = plain_status(dispute)
                context["status"] = dispute.get_status_display()
            subject, body = render_email("notification", context, notification.language)
            # The row stays locked while sending, so a duplicate task waits and then sees sent_at.
            EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [notification.email]).send()
            Notification.objects.filter(pk=notification.pk).update(
                sent_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
            )
    except Exception as error:
        Notification.objects.filter(pk=notification_id).update(
            attempts=F("attempts") + 1, last_error=str(error)[:2000]
        )
        raise
    return True


@shared_task(bind=True, **RETRY)
def send_tracking_link(self, dispute_id: int) -> bool:
    """A fresh tracking link, asked for on the "find my dispute" page."""
    from disputes.models import Dispute

    dispute = Dispute.objects.select_related("home_agency").filter(pk=dispute_id).first()
    if dispute is None:
        return False
    language = dispute.consumer_language or settings.LANGUAGE_CODE
    subject, body = render_email("tracking_link", _email_context(dispute), language)
    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [dispute.consumer_email]).send()
    return True


@shared_task
def send_pending_notifications(older_than_seconds: int = 300) -> int:
    """Queue again any notification whose task was lost (the database holds the truth)."""
    from .models import Notification

    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    pending = Notification.objects.filter(sent_at__isnull=True, created_at__lte=cutoff)
    ids = list(pending.filter(attempts__lt=10).values_list("pk", flat=True)[:500])
    with transaction.atomic():
        for notification_id in ids:
            transaction.on_commit(partial(send_notification.delay, notification_id))
    return len(ids)


@shared_task
def purge_expired_drafts() -> int:
    from .services import purge_expired_drafts as purge

    count = purge()
    if count:
        logger.info("purged %s expired drafts", count)
    return count
