"""Consumer emails: rendering, and the batch sender that sends every due Notification row.

One sender run claims up to a batch of due rows, renders them with what they share read once
(this agency), sends them over one mail connection and records the sent rows in one UPDATE.
The news of one dispute that waited together (messages, documents, status changes: the sender
starts ODR_EMAIL_BATCH_SECONDS after the first of them) goes out as one email listing each. A
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
from disputes.models import Dispute, Status

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


# News that waited in the same batch goes to the consumer as one email per dispute. Not a
# filing receipt or a settlement proposal: each has its own subject, which the consumer must see.
DIGESTED_KINDS = frozenset(
    {
        Notification.Kind.MESSAGE,
        Notification.Kind.DOCUMENT,
        Notification.Kind.STATUS_CHANGED,
        Notification.Kind.UPDATE,
    }
)


def notification_message(notifications: list[Notification], agency: Agency) -> EmailMessage:
    """One email of one or more notifications of one dispute (oldest first), in their
    language, about the dispute as it is now."""
    first = notifications[0]
    dispute = first.dispute
    context = email_context(dispute, agency) | {
        "notification": first,
        "event": first.event,
        "kind": first.kind,
        "items": _items(notifications),
        "count": len(notifications),
    }
    with translation.override(first.language):
        context["plain_status"] = plain_status(dispute)
        context["status"] = str(Status(dispute.status).label)
    subject, body = render_email("notification", context, first.language)
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [first.email])


def _items(notifications: list[Notification]) -> list[dict]:
    """What the email says of each notification. The current status is explained in words once,
    under the last status change."""
    last_status_change = max(
        (i for i, n in enumerate(notifications) if n.kind == Notification.Kind.STATUS_CHANGED),
        default=None,
    )
    return [
        {"kind": n.kind, "event": n.event, "explains_status": i == last_status_change}
        for i, n in enumerate(notifications)
    ]


def emails_of(batch: list[Notification]) -> list[list[Notification]]:
    """The batch's rows grouped into emails: the digestible news of a dispute to one address,
    in one language, together; every other row alone. In the order of each email's first row."""
    emails: dict[tuple, list[Notification]] = {}
    for notification in batch:
        if notification.kind in DIGESTED_KINDS:
            key = ("digest", notification.dispute_id, notification.email, notification.language)
        else:
            key = ("alone", notification.pk)
        emails.setdefault(key, []).append(notification)
    return list(emails.values())


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
    """Send the batch's emails over one connection; returns the sent ids and the failed rows
    (every row of an email that failed)."""
    sent: list[int] = []
    failed: dict[Notification, Exception] = {}
    agency = this_agency()
    mail = get_connection()
    try:
        mail.open()
    except Exception as error:
        return sent, dict.fromkeys(batch, error)
    emails = emails_of(batch)
    try:
        for position, rows in enumerate(emails):
            try:
                message = notification_message(rows, agency)
            except DatabaseError:
                raise  # the transaction is broken: roll the batch back, send it again later
            except Exception as error:
                failed.update(dict.fromkeys(rows, error))
                continue
            try:
                # One message per call, so one refused address fails only its own rows.
                mail.send_messages([message])
            except Exception as error:
                failed.update(dict.fromkeys(rows, error))
                # The server may have hung up: go on over a fresh connection.
                _close(mail)
                try:
                    mail.open()
                except Exception as error:
                    for later in emails[position + 1 :]:
                        failed.update(dict.fromkeys(later, error))
                    break
            else:
                sent.extend(notification.pk for notification in rows)
    finally:
        _close(mail)
    return sent, failed


def send_due_notifications(limit: int = BATCH_SIZE) -> int:
    """Send the emails of up to ``limit`` due notifications, with the other due news of their
    disputes; returns how many rows were attempted (sent or failed), 0 when nothing was due.

    Failed rows are moved to a later next attempt, so a caller may loop until 0 is returned.
    """
    with transaction.atomic():
        now = timezone.now()
        # SKIP LOCKED: a second sender at the same time takes other rows, never these. Only the
        # notification rows are locked (of="self"), not the joined dispute, event and agency
        # rows, which the domain's writes lock. The lock is held until commit, while the emails
        # go out: if the process dies before the commit, the rows are still unsent and are sent
        # again on retry (at least once, as before), but two senders never send the same row.
        claim = (
            due_notifications(now)
            .select_related("event", "dispute__home_agency")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "pk")
        )
        batch = list(claim[:limit])
        if not batch:
            return 0
        # The other news of these disputes that is due goes in the same emails, not one email
        # per row in later batches (several disputes' news interleaves in time order).
        batch += claim.filter(
            dispute_id__in={notification.dispute_id for notification in batch},
            kind__in=DIGESTED_KINDS,
        ).exclude(pk__in=[notification.pk for notification in batch])[: limit * 4]
        batch.sort(key=lambda notification: (notification.next_attempt_at, notification.pk))
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
