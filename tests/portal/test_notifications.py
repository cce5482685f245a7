"""Emails to the consumer: one per event that concerns them, in their language, never twice."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings

from disputes import services
from portal.models import Notification
from portal.tasks import send_notification
from tests.factories import file_dispute

pytestmark = pytest.mark.django_db


def send_all():
    for notification in Notification.objects.filter(sent_at__isnull=True):
        send_notification.run(notification.pk)


def test_events_that_concern_the_consumer_are_emailed_and_their_own_are_not(
    seeded, caseworker, client
):
    dispute = file_dispute(consumer_language="ko")
    actor = services.Actor.caseworker(caseworker)
    consumer = services.Actor.consumer(dispute.consumer_name)
    services.start_review(dispute, actor=actor)
    services.post_message(
        dispute, actor=actor, body="Internal", language="en", visible_to_consumer=False
    )
    services.post_message(dispute, actor=actor, body="We are on it.", language="en")
    services.post_message(dispute, actor=consumer, body="Thanks!", language="ko")
    services.add_document(dispute, actor=actor, name="letter.pdf", content=b"%PDF-1.4\n%%EOF\n")
    kinds = list(Notification.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == ["filing_receipt", "status_changed", "message", "document"]

    send_all()
    assert len(mail.outbox) == 4
    receipt, status, message, document = mail.outbox
    assert all(email.to == ["dewi@example.id"] for email in mail.outbox)
    assert all(dispute.reference in email.subject for email in mail.outbox)
    assert "under_review" not in status.body  # the status in words, not its code
    assert "We are on it." in message.body and "Internal" not in "".join(
        email.body for email in mail.outbox
    )
    assert "letter.pdf" in document.body
    # Rendered in the consumer's preferred language (Korean), whatever the sender's language.
    assert "인도네시아 국가소비자보호원" in receipt.body  # the agency's Korean name
    assert "National Consumer Protection Agency" not in receipt.body
    assert re.search(r"\d{4}년 \d{1,2}월 \d{1,2}일", receipt.body)  # a Korean date
    # The email's tracking link opens the dispute.
    link = re.search(r"\S+/track/\S+/", receipt.body).group(0)
    assert link.startswith(settings.ODR_PUBLIC_URL)
    assert client.get(link.removeprefix(settings.ODR_PUBLIC_URL)).status_code == 200


def test_a_notification_is_sent_once_even_if_its_task_runs_twice(seeded):
    dispute = file_dispute()
    receipt = Notification.objects.get(dispute=dispute)
    assert send_notification.run(receipt.pk) is True
    assert send_notification.run(receipt.pk) is False
    assert len(mail.outbox) == 1
    receipt.refresh_from_db()
    assert receipt.sent_at is not None and receipt.attempts == 1
    # Writing the same event's notification again is refused by the database.
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            event=receipt.event,
            dispute=dispute,
            kind=receipt.kind,
            email="x@example.id",
            language="id",
        )


def test_a_failed_send_is_recorded_and_retried_later(seeded):
    dispute = file_dispute()
    receipt = Notification.objects.get(dispute=dispute)
    with (
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=9,
        ),
        pytest.raises(OSError),
    ):
        send_notification.run(receipt.pk)
    receipt.refresh_from_db()
    assert receipt.sent_at is None and receipt.attempts == 1 and receipt.last_error
    assert send_notification.run(receipt.pk) is True
    assert len(mail.outbox) == 1


def test_a_partner_node_never_emails_the_other_agencys_consumer(seeded, caseworker):
    with override_settings(ODR_NODE="KR-KCA"):
        file_dispute(home="ID-BPKN")
    assert not Notification.objects.exists()


def test_notifications_whose_task_was_lost_are_queued_again(
    seeded, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    from portal.tasks import send_pending_notifications

    dispute = file_dispute()
    receipt = Notification.objects.get(dispute=dispute)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert send_pending_notifications.run() == 0  # too recent: its own task may still come
        Notification.objects.update(created_at=timezone.now() - dt.timedelta(minutes=10))
        assert send_pending_notifications.run() == 1
        send_notification.run(receipt.pk)
        assert send_pending_notifications.run() == 0
    assert len(queued) == 1
