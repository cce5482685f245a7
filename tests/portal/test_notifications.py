"""Emails to the consumer: one per event that concerns them, in their language, never twice.

They are sent by one sender loop per node, in batches over one mail connection
(portal.mailer.send_due_notifications); a commit or the beat sweep only wakes it.
"""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from django.conf import settings
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from agencies import refcache
from disputes import services
from odr.cluster import wait_for
from portal import tasks
from portal.mailer import MAX_ATTEMPTS, send_due_notifications
from portal.models import Notification
from tests.factories import file_dispute

pytestmark = pytest.mark.django_db


def send_all() -> int:
    attempted = 0
    while count := send_due_notifications():
        attempted += count
    return attempted


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
    # The receipt alone; the news that waited together in one email.
    assert len(mail.outbox) == 2
    receipt, news = mail.outbox
    assert all(email.to == ["dewi@example.id"] for email in mail.outbox)
    assert all(dispute.reference in email.subject for email in mail.outbox)
    assert "3" in news.subject
    assert "검토 중" in news.body and "under_review" not in news.body  # the status in words
    assert "We are on it." in news.body and "Internal" not in "".join(
        email.body for email in mail.outbox
    )
    assert "letter.pdf" in news.body
    assert news.body.index("We are on it.") < news.body.index("letter.pdf")  # oldest first
    # Rendered in the consumer's preferred language (Korean), whatever the sender's language.
    assert "인도네시아 국가소비자보호원" in receipt.body  # the agency's Korean name
    assert "National Consumer Protection Agency" not in receipt.body
    assert re.search(r"\d{4}년 \d{1,2}월 \d{1,2}일", receipt.body)  # a Korean date
    # The email's tracking link opens the dispute.
    link = re.search(r"\S+/track/\S+/", receipt.body).group(0)
    assert link.startswith(settings.ODR_PUBLIC_URL)
    assert client.get(link.removeprefix(settings.ODR_PUBLIC_URL)).status_code == 200


def test_one_sender_run_sends_every_due_email_once_over_one_connection_in_each_language(
    seeded, caseworker, recording_mail
):
    actor = services.Actor.caseworker(caseworker)
    korean = file_dispute(consumer_language="ko", consumer_email="minji@example.kr")
    indonesian = file_dispute(consumer_language="id", consumer_email="dewi@example.id")
    for dispute in (korean, indonesian):
        services.start_review(dispute, actor=actor)
        services.post_message(
            dispute, actor=actor, body=f"About {dispute.reference}", language="en"
        )
    assert Notification.objects.count() == 6

    assert send_due_notifications() == 6
    assert len(recording_mail.opened) == 1  # one connection for the whole batch
    assert len(mail.outbox) == 4  # to each consumer: the receipt, then the news together
    by_address = {
        address: [email for email in mail.outbox if email.to == [address]]
        for address in ("minji@example.kr", "dewi@example.id")
    }
    assert all(len(emails) == 2 for emails in by_address.values())
    assert all(
        email.body.startswith("Dewi Lestari 님께") for email in by_address["minji@example.kr"]
    )
    assert all(
        email.body.startswith("Yth. Bapak/Ibu Dewi Lestari,")
        for email in by_address["dewi@example.id"]
    )
    assert any(
        "분쟁에 관한 새 메시지가 있습니다:" in email.body
        and f"About {korean.reference}" in email.body
        for email in by_address["minji@example.kr"]
    )
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    assert set(Notification.objects.values_list("attempts", "last_error")) == {(1, "")}

    # Nothing is due any more: a second run sends nothing and opens no connection.
    assert send_due_notifications() == 0
    assert len(mail.outbox) == 4 and len(recording_mail.opened) == 1


def test_news_that_waited_together_goes_out_as_one_email_per_dispute_and_fails_together(
    seeded, caseworker, recording_mail
):
    actor = services.Actor.caseworker(caseworker)
    gone = file_dispute(consumer_email="gone@example.id", consumer_language="en")
    kept = file_dispute(consumer_email="dewi@example.id", consumer_language="en")
    assert send_due_notifications() == 2  # the receipts
    recording_mail.refuse.add("gone@example.id")
    for dispute in (gone, kept):
        services.start_review(dispute, actor=actor)
        services.post_message(dispute, actor=actor, body="First question", language="en")
        services.post_message(dispute, actor=actor, body="Second question", language="en")

    assert send_due_notifications() == 6
    [news] = [email for email in mail.outbox if email.to == ["dewi@example.id"]][1:]
    assert news.subject == f"{kept.reference}: 3 updates about your dispute"
    assert news.body.index("Under review") < news.body.index("First question")
    assert news.body.index("First question") < news.body.index("Second question")
    assert news.body.count("/track/") == 1
    # The refused email's three rows all wait for their retry; the other three are sent.
    assert set(
        Notification.objects.filter(dispute=gone, sent_at__isnull=True).values_list(
            "kind", "attempts"
        )
    ) == {("status_changed", 1), ("message", 1)}
    assert not Notification.objects.filter(dispute=kept, sent_at__isnull=True).exists()


def test_a_batch_takes_the_other_due_news_of_its_disputes_whatever_their_place(seeded, caseworker):
    actor = services.Actor.caseworker(caseworker)
    disputes = [file_dispute(consumer_email=f"c{k}@example.id") for k in range(3)]
    send_all()  # the receipts
    mail.outbox.clear()
    for round_ in (1, 2):  # the disputes' news interleaves in time
        for dispute in disputes:
            services.post_message(dispute, actor=actor, body=f"Round {round_}", language="id")

    # The first two rows due belong to the first two disputes; their second messages, due
    # after the third dispute's first, come along.
    assert send_due_notifications(limit=2) == 4
    assert [email.to for email in mail.outbox] == [["c0@example.id"], ["c1@example.id"]]
    assert all("Round 1" in email.body and "Round 2" in email.body for email in mail.outbox)
    assert send_due_notifications(limit=2) == 2
    assert mail.outbox[-1].to == ["c2@example.id"] and "Round 2" in mail.outbox[-1].body
    assert send_due_notifications(limit=2) == 0


def test_a_batch_costs_the_same_few_queries_however_many_emails_it_sends(seeded, caseworker):
    from django.test.utils import CaptureQueriesContext

    actor = services.Actor.caseworker(caseworker)

    def queries_to_send(messages: int) -> list[str]:
        dispute = file_dispute()
        for k in range(messages):
            services.post_message(dispute, actor=actor, body=f"Message {k}", language="en")
        # From the same (empty) reference cache each time: an entry that expired between the
        # two batches (5 s, on a slow machine) would otherwise count as one more query.
        refcache.clear()
        with CaptureQueriesContext(connection) as queries:
            assert send_due_notifications() == messages + 1
        return [query["sql"] for query in queries]

    one, many = queries_to_send(0), queries_to_send(8)
    assert len(one) == len(many)
    updates = [sql for sql in many if sql.startswith("UPDATE")]
    assert len(updates) == 1 and "portal_notification" in updates[0]  # all sent rows at once
    if connection.vendor == "postgresql":
        claim = next(sql for sql in many if "FOR UPDATE" in sql)
        # Only the notification rows: the disputes stay free for the domain's own writes.
        assert claim.endswith('FOR UPDATE OF "portal_notification" SKIP LOCKED')


def test_a_notification_is_sent_once_even_if_the_sender_runs_twice(seeded):
    dispute = file_dispute()
    receipt = Notification.objects.get(dispute=dispute)
    assert send_due_notifications() == 1
    assert send_due_notifications() == 0
    # A task of the former one-task-per-email design, still queued at the upgrade, sends nothing
    # more.
    assert tasks.send_notification.run(receipt.pk) == 0
    assert len(mail.outbox) == 1
    receipt.refresh_from_db()
    assert receipt.sent_at is not None and receipt.attempts == 1
    # Writing the same event's notification again is refused by the database.
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            event=receipt.event,
            dispute=dispute,
            kind=receipt.kind,
            email="x@example.id",
            language="id",
        )


def test_a_refused_address_fails_only_its_own_email_and_is_retried_after_its_backoff(
    seeded, recording_mail
):
    bad = file_dispute(consumer_email="gone@example.id")
    good = file_dispute(consumer_email="dewi@example.id")
    recording_mail.refuse.add("gone@example.id")
    before = timezone.now()

    assert send_due_notifications() == 2  # attempted: one sent, one failed
    assert [email.to for email in mail.outbox] == [["dewi@example.id"]]
    sent = Notification.objects.get(dispute=good)
    assert sent.sent_at is not None and sent.attempts == 1
    failed = Notification.objects.get(dispute=bad)
    assert failed.sent_at is None and failed.attempts == 1
    assert "SMTPRecipientsRefused" in failed.last_error and "gone@example.id" in failed.last_error
    # Backoff with jitter: between half and all of 30 s after the attempt.
    assert before + dt.timedelta(seconds=15) <= failed.next_attempt_at
    assert failed.next_attempt_at <= timezone.now() + dt.timedelta(seconds=30)
    assert send_due_notifications() == 0  # not due yet

    recording_mail.refuse.clear()  # the mailbox is back
    Notification.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now())
    assert send_due_notifications() == 1
    assert send_due_notifications() == 0
    assert [email.to for email in mail.outbox] == [["dewi@example.id"], ["gone@example.id"]]
    failed.refresh_from_db()
    assert failed.sent_at is not None and failed.attempts == 2 and failed.last_error == ""


def test_a_mail_server_that_cannot_be_reached_fails_the_batch_until_it_is_back(seeded):
    file_dispute()
    file_dispute()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=9,
    ):
        assert send_due_notifications() == 2
    pending = list(Notification.objects.all())
    assert all(row.sent_at is None and row.attempts == 1 and row.last_error for row in pending)
    assert all(row.next_attempt_at > timezone.now() for row in pending)
    assert send_all() == 0 and not mail.outbox

    Notification.objects.update(next_attempt_at=timezone.now())
    assert send_all() == 2
    assert len(mail.outbox) == 2


def test_a_notification_that_used_up_its_attempts_is_left_alone(seeded):
    file_dispute()
    Notification.objects.update(attempts=MAX_ATTEMPTS, last_error="550 no such user")
    assert send_all() == 0 and not mail.outbox
    assert tasks.send_pending_notifications.run() == 0


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_never_send_a_notification_twice(seeded, caseworker, recording_mail):
    """Each sender is a thread with its own database connection. On PostgreSQL (CI) they claim
    with FOR UPDATE SKIP LOCKED and really overlap; SQLite serializes them on its write lock."""
    # A sender is "queued" already: the commits below wake nothing (nobody reads that broker).
    assert tasks.mark_queued()
    dispute = file_dispute()
    actor = services.Actor.caseworker(caseworker)
    services.start_review(dispute, actor=actor)
    for k in range(40):
        services.post_message(dispute, actor=actor, body=f"Message {k}", language="en")
    expected = Notification.objects.count()
    assert expected == 42
    recording_mail.delay_seconds = 0.002  # a batch takes long enough for the other to start
    senders = 3
    start = threading.Barrier(senders)
    attempted = [0] * senders
    errors: list[BaseException] = []

    def sender(index: int):
        try:
            start.wait(timeout=30)
            while count := send_due_notifications(limit=5):
                attempted[index] += count
        except BaseException as error:  # reported below; a thread must not swallow it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(not thread.is_alive() for thread in threads)

    assert errors == []
    assert sum(attempted) == expected
    # Each batch's messages went out together: every message is in exactly one email.
    bodies = "".join(body for _to, _subject, body in recording_mail.sent)
    assert all(bodies.count(f"\nMessage {k}\n") == 1 for k in range(40))
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}
    if connection.vendor == "postgresql":
        # SKIP LOCKED let them work side by side rather than one after the other.
        assert sum(1 for count in attempted if count) > 1, attempted


def test_a_partner_node_never_emails_the_other_agencys_consumer(seeded):
    with override_settings(ODR_NODE="KR-KCA"):
        file_dispute(home="ID-BPKN")
    assert not Notification.objects.exists()


def test_a_commit_wakes_one_sender_and_a_busy_sender_is_not_woken_again(
    seeded, caseworker, django_capture_on_commit_callbacks, eager_celery
):
    actor = services.Actor.caseworker(caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        dispute = file_dispute()
    assert len(mail.outbox) == 1  # the (eager) sender ran after the commit
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.mark_queued()  # as if a sender were queued or running
        services.start_review(dispute, actor=actor)
    assert len(mail.outbox) == 1  # left to that sender
    tasks.unmark_queued()
    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(dispute, actor=actor, body="We are on it.", language="en")
    # The sender sends whatever is due: the status change that waited, with the message.
    assert len(mail.outbox) == 2 and "We are on it." in mail.outbox[1].body
    assert not Notification.objects.filter(sent_at__isnull=True).exists()


def test_the_sweep_wakes_the_sender_only_when_an_email_is_due(
    seeded, django_capture_on_commit_callbacks, eager_celery
):
    with django_capture_on_commit_callbacks(execute=False) as lost:
        file_dispute()  # its wake-up is lost
    assert len(lost) == 1 and not mail.outbox
    receipt = Notification.objects.get()

    Notification.objects.update(next_attempt_at=timezone.now() + dt.timedelta(minutes=1))
    assert tasks.send_pending_notifications.run() == 0  # a retry not due yet
    Notification.objects.update(next_attempt_at=receipt.created_at)
    assert tasks.mark_queued()
    assert tasks.send_pending_notifications.run() == 0  # a sender is queued already
    tasks.unmark_queued()
    assert tasks.send_pending_notifications.run() == 1
    assert len(mail.outbox) == 1
    assert tasks.send_pending_notifications.run() == 0  # nothing due any more


def test_a_burst_of_changes_reaches_the_consumer_together_after_the_batch_window(
    seeded, caseworker, celery_worker, recording_mail, settings
):
    settings.ODR_EMAIL_BATCH_SECONDS = 1
    actor = services.Actor.caseworker(caseworker)
    dispute = file_dispute()  # each of these commits owes the consumer an email
    services.start_review(dispute, actor=actor)
    services.post_message(dispute, actor=actor, body="We are on it.", language="en")

    unsent = Notification.objects.filter(sent_at__isnull=True)
    wait_for(lambda: not unsent.exists(), timeout=30, interval=0.05, what="the emails")

    # One sender run, woken by the first commit, sent all three over one connection: the
    # receipt, and the status change with the message in one email.
    assert len(recording_mail.sent) == 2
    assert len(recording_mail.opened) == 1
    assert len(set(Notification.objects.values_list("sent_at", flat=True))) == 1
