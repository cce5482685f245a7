"""Writes of the merchant-facing app: emails to merchants, and the merchant's actions.

The merchant's actions are calls to ``disputes.services`` as the merchant; this module only
adds the emails that carry the merchant's link. A notice row is written in the transaction that
issued the link (``disputes.events.merchant_link_issued``), and sent after commit by a task
that takes its id; the beat sweep sends any row whose task was lost.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from agencies.selectors import this_agency
from disputes.models import Dispute
from odr.celery import BROKER_ERRORS, publish

from .models import MerchantNotice
from .tokens import merchant_url

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


def on_merchant_link_issued(sender, *, dispute: Dispute, kind: str, **kwargs) -> None:
    """Write the email's row with the domain change; queue its sending after commit."""
    merchant = dispute.merchant
    notice = MerchantNotice.objects.create(
        dispute=dispute,
        kind=kind,
        email=merchant.contact_email,
        language=merchant.language,
        link_version=dispute.merchant_link_version,
        due_on=dispute.merchant_reply_due_on if kind == MerchantNotice.Kind.REMINDER else None,
    )
    notice_id = notice.pk

    def queue():
        from .tasks import send_merchant_notice

        try:
            publish(lambda: send_merchant_notice.delay(notice_id))
        except BROKER_ERRORS as error:
            logger.warning("could not queue merchant notice %s (%s)", notice_id, error)

    transaction.on_commit(queue)


def render_notice(notice: MerchantNotice, dispute: Dispute) -> EmailMessage:
    """The email in the merchant's language. The link is made now, for the current version."""
    context = {
        "dispute": dispute,
        "merchant": dispute.merchant,
        "agency": this_agency(),
        "merchant_url": merchant_url(dispute),
        "link_days": settings.ODR_MERCHANT_LINK_MAX_AGE_DAYS,
        "due_on": dispute.merchant_reply_due_on,
    }
    with translation.override(notice.language):
        subject = render_to_string(f"merchants/email/{notice.kind}_subject.txt", context)
        body = render_to_string(f"merchants/email/{notice.kind}.txt", context)
    return EmailMessage(" ".join(subject.split()), body, to=[notice.email])


def send_notice(notice_id: int, now: dt.datetime | None = None) -> str:
    """Send one notice unless it was sent or a newer link made it moot; the row lock and
    ``sent_at`` keep it from going twice. Returns what happened."""
    now = now or timezone.now()
    with transaction.atomic():
        notice = (
            MerchantNotice.objects.select_for_update(skip_locked=True)
            .filter(pk=notice_id, sent_at__isnull=True)
            .first()
        )
        if notice is None:
            return "done"
        dispute = Dispute.objects.select_related("merchant").get(pk=notice.dispute_id)
        if dispute.merchant_link_version != notice.link_version:
            notice.sent_at = now
            notice.last_error = "superseded by a newer link"
            notice.save(update_fields=["sent_at", "last_error"])
            return "superseded"
        failure = None
        try:
            render_notice(notice, dispute).send()
        except OSError as error:
            failure = error
            notice.attempts += 1
            notice.last_error = str(error)[:300]
            notice.save(update_fields=["attempts", "last_error"])
        else:
            notice.sent_at = now
            notice.save(update_fields=["sent_at"])
    if failure is not None:
        raise failure  # the task retries with backoff; the row keeps the error
    return "sent"


def pending_notice_ids(limit: int = 200) -> list[int]:
    return list(
        MerchantNotice.objects.filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
