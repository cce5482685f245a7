"""Consumer emails: rendering, and the batch sender that sends every due Notification row.

One sender run claims up to a batch of due rows, renders them with what they share read once
(this agency), sends them over one mail connection and records the sent rows in one UPDATE. A
row that fails is tried again later with exponential backoff. The row lock and ``sent_at`` keep
an email from being sent twice (see ``send_due_notifications`` for the one exception: a crash
between sending and commit).
"""

from __future__ import annotations

import datetime as dt
import logging
import random

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation

from agencies.models import Agency
from agencies.selectors import this_agency
from disputes.models import Dispute

from .models import Notification
from .selectors import plain_status
from .tokens import tracking_url

logger = logging.getLogger(__name__)

# Rows locked and emails sent per transaction: small, because the rows stay locked while their
# emails go out.
BATCH_SIZE = 50
# After this many failed attempts a row is left alone (the admin shows it with its last error).
MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


def render_email(template: str, context: dict, language: str) -> tuple[str, str]:
    """Subject and body of an email, in the consumer's language."""
    with translation.override(language):
        subject = render_to_string(f"portal/email/{template}_subject.txt", context)
        body = render_to_string(f"portal/email/{template}.txt", context)
    return " ".join(subject.split()), body


def email_context(dispute: Dispute, agency: Agency | None = None) -> dict:
    """What every consumer email shows: the dispute, this agency and the tracking link."""
    return {
        "dispute": dispute,
        "agency": agency or this_agency(),
        "tracking_url": tracking_url(dispute),
        "link_days": settings.ODR_TRACKING_LINK_MAX_AGE_DAYS,
        "find_url": settings.ODR_PUBLIC_URL + "/find/",
    }


def notification_message(notification: Notification, agency: Agency) -> EmailMessage:
    """The email of one notification, in its language, about the dispute as it is now."""
    dispute = notification.dispute
    context = email_context(dispute, agency) | {
        "notification": notification,
        "event": notification.event,
        "kind": notification.kind,
    }
    with translation.override(notification.language):
        context["plain_status"] = plain_status(dispute)
        context["status"] = dispute.get_status_display()
    subject, body = render_email("notification", context, notification.language)
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [notification.email])


def due_notifications(now: dt.datetime | None = None) -> QuerySet[Notification]:
    """Unsent rows whose next attempt is due and that have not used up their attempts."""
    return Notification.objects.filter(
        sent_at__isnull=True,
        attempts__lt=MAX_ATTEMPTS,
        next_attempt_at__lte=now or timezone.now(),
    )


def has_due_notifications(now: dt.datetime | None = None) -> bool:
    return due_notifications(now).exists()


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next attempt of a row that has failed ``attempts`` times (1 or more).

    Exponential, and jittered so that rows failing together (a mail server down) do not all
    come back in the same batch."""
    seconds = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    # Jitter needs no secret randomness.
    return dt.timedelta(seconds=seconds * random.uniform(0.5, 1))  # noqa: S311


def _close(mail: BaseEmailBackend) -> None:
    try:
        mail.close()
    except Exception as error:
        # A QUIT refused by a server that already hung up: the emails were handed over before.
        logger.debug("closing the mail connection failed: %s", error)


def _send(batch: list[Notification]) -> tuple[list[int], dict[Notification, Exception]]:
    """Send each row's email over one connection; returns the sent ids and the failed rows."""
    sent: list[int] = []
    failed: dict[Notification, Exception] = {}
    agency = this_agency()
    mail = get_connection()
    try:
        mail.open()
    except Exception as error:
        return sent, dict.fromkeys(batch, error)
    try:
        for position, notification in enumerate(batch):
            try:
                message = notification_message(notification, agency)
            except DatabaseError:
                raise  # the transaction is broken: roll the batch back, send it again later
            except Exception as error:
                failed[notification] = error
                continue
            try:
                # One message per call, so one refused address fails only its own row.
                mail.send_messages([message])
            except Exception as error:
                failed[notification] = error
                # The server may have hung up: go on over a fresh connection.
                _close(mail)
                try:
                    mail.open()
                except Exception as error:
                    failed.update(dict.fromkeys(batch[position + 1 :], error))
                    break
            else:
                sent.append(notification.pk)
    finally:
        _close(mail)
    return sent, failed


def send_due_notifications(limit: int = BATCH_SIZE) -> int:
    """Send the emails of up to ``limit`` due notifications; returns how many were attempted
    (sent or failed), 0 when nothing was due.

    Failed rows are moved to a later next attempt, so a caller may loop until 0 is returned.
    """
    with transaction.atomic():
        now = timezone.now()
        # SKIP LOCKED: a second sender at the same time takes other rows, never these. Only the
        # notification rows are locked (of="self"), not the joined dispute, event and agency
        # rows, which the domain's writes lock. The lock is held until commit, while the emails
        # go out: if the process dies before the commit, the rows are still unsent and are sent
        # again on retry (at least once, as before), but two senders never send the same row.
        batch = list(
            due_notifications(now)
            .select_related("event", "dispute__home_agency")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "pk")[:limit]
        )
        if not batch:
            return 0
        sent, failed = _send(batch)
        done = timezone.now()
        if sent:
            Notification.objects.filter(pk__in=sent).update(
                sent_at=done, attempts=F("attempts") + 1, last_error=""
            )
        for notification, error in failed.items():
            notification.attempts += 1
            notification.last_error = f"{type(error).__name__}: {error}"[:2000]
            notification.next_attempt_at = done + backoff(notification.attempts)
            if notification.attempts >= MAX_ATTEMPTS:
                logger.error(
                    "giving up notification %s after %s attempts: %s",
                    notification.pk,
                    notification.attempts,
                    notification.last_error,
                )
        if failed:
            Notification.objects.bulk_update(
                list(failed), ["attempts", "last_error", "next_attempt_at"]
            )
            logger.warning(
                "%s of %s consumer emails failed; retrying later", len(failed), len(batch)
            )
    return len(batch)
