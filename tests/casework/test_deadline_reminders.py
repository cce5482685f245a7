"""Reminders before a deadline go to the case's owner, escalations after it to the supervisors:
each exactly once, however often the beat sweep runs."""

from __future__ import annotations

import datetime as dt
import smtplib

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agencies.selectors import agency_calendar
from casework import reminders
from casework import services as casework_services
from casework.models import DeadlineNotice
from casework.tasks import sweep_deadlines
from disputes.models import Dispute
from disputes.services import agency_today
from tests.factories import CaseworkerFactory, SupervisorFactory, file_dispute
from tests.staff import login


@pytest.fixture
def team(seeded):
    supervisor = SupervisorFactory(email="ratna@bpkn.example")
    owner = CaseworkerFactory(email="siti@bpkn.example")
    return {"supervisor": supervisor, "owner": owner, "bpkn": seeded["ID-BPKN"]}


def owned_dispute(team, due_in_working_days: int) -> Dispute:
    bpkn = team["bpkn"]
    today = agency_today(bpkn)
    calendar = agency_calendar(bpkn, today)
    if due_in_working_days >= 0:
        due = calendar.add_working_days(today, due_in_working_days)
    else:
        due = today - dt.timedelta(days=7)
    dispute = file_dispute()
    Dispute.objects.filter(pk=dispute.pk).update(review_due_on=due)
    casework_services.assign_dispute(dispute, team["owner"], by=team["supervisor"], agency=bpkn)
    return dispute


def test_the_owner_is_reminded_once_before_the_deadline(team, settings):
    settings.ODR_DEADLINE_REMINDER_WORKING_DAYS = 2
    soon = owned_dispute(team, 1)
    later = owned_dispute(team, 5)
    mail.outbox.clear()
    assert sweep_deadlines() == {"created": 1, "sent": 1}
    assert sweep_deadlines() == {"created": 0, "sent": 0}  # the next beat tick
    (email,) = mail.outbox
    assert email.to == ["siti@bpkn.example"]
    # In BPKN's language: "Reminder: review due for … on …".
    assert email.subject.startswith("Pengingat: tenggat peninjauan untuk " + soon.reference)
    assert not DeadlineNotice.objects.filter(dispute=later).exists()


def test_a_missed_deadline_is_escalated_once_and_shows_on_the_queue(team, client):
    late = owned_dispute(team, -1)
    mail.outbox.clear()
    assert sweep_deadlines()["created"] == 1
    sweep_deadlines()
    (email,) = mail.outbox
    assert email.to == ["ratna@bpkn.example"]
    assert email.subject.startswith("Terlambat: tenggat peninjauan untuk " + late.reference)
    notice = DeadlineNotice.objects.get(dispute=late)
    assert notice.kind == "escalation" and notice.sent_at is not None
    login(client, team["supervisor"])
    page = client.get(reverse("casework:queue")).content.decode()
    row = page[page.index(late.reference) :]
    assert "Escalated to the supervisor" in row[: row.index("</tr>")]


def test_a_case_waiting_for_the_partner_is_not_our_deadline(team):
    dispute = owned_dispute(team, 1)
    Dispute.objects.filter(pk=dispute.pk).update(status="forwarded")
    assert sweep_deadlines()["created"] == 0


@pytest.fixture
def refusing_mail(settings):
    """Emails go to mail.outbox, except to addresses in ``refuse``, which raise as over SMTP."""
    from tests.portal.backends import RecordingBackend

    settings.EMAIL_BACKEND = "tests.portal.backends.RecordingBackend"
    RecordingBackend.reset()
    yield RecordingBackend
    RecordingBackend.reset()


def test_an_email_refused_mid_run_leaves_the_ones_before_it_sent_once(team, refusing_mail):
    owned_dispute(team, -1)  # an escalation to the supervisor
    owned_dispute(team, 1)  # a reminder to the owner
    reminders.sweep_deadlines(team["bpkn"])
    first, second = DeadlineNotice.objects.order_by("created_at", "pk")
    refusing_mail.refuse.add(second.recipients[0])
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        sweep_deadlines()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.sent_at is not None and second.sent_at is None

    refusing_mail.refuse.clear()  # the mailbox is back
    assert sweep_deadlines() == {"created": 0, "sent": 1}
    assert sweep_deadlines() == {"created": 0, "sent": 0}
    assert [email.to for email in mail.outbox] == [first.recipients, second.recipients]


def test_the_sweep_reads_the_owners_with_their_cases(team, settings):
    """Not one query per case's owner: a sweep with five owned cases due costs what one does."""

    def queries_of_a_sweep() -> int:
        DeadlineNotice.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            reminders.sweep_deadlines(team["bpkn"])
        return len(queries)

    settings.ODR_DEADLINE_REMINDER_WORKING_DAYS = 2
    owned_dispute(team, 1)
    one = queries_of_a_sweep()
    for _ in range(4):
        owned_dispute(team, 1)
    assert queries_of_a_sweep() == one
