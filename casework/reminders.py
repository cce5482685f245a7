"""Deadline reminders and escalations: the services of the beat sweep and the email sender.

Each run of ``sweep_deadlines`` (beat, every ODR_DEADLINE_SWEEP_SECONDS) finds the open
disputes whose deadline, on which this agency must act, is due within
ODR_DEADLINE_REMINDER_WORKING_DAYS working days (a reminder to the assignee) or has passed (an
escalation to the agency's supervisors), and inserts one DeadlineNotice per deadline and kind;
the unique constraint turns every second attempt, from another beat or worker, into nothing.
``send_due_notices`` then sends the unsent notices: each row is locked (others skip it), its
email sent and ``sent_at`` written in one transaction, so a worker killed before its commit
leaves the row for the next run. As with consumer emails (portal/mailer.py), the only way to send
one twice is a crash after the mail server took the message and before that commit.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from agencies.models import Agency
from disputes.models import Dispute

from . import selectors
from .models import DeadlineNotice
from .roles import SUPERVISORS


def sweep_deadlines(agency: Agency, today: dt.date | None = None) -> int:
    """Create the notices that are due today; returns how many were new."""
    clock = selectors.DeadlineClock(agency, today)
    today = clock.today
    horizon = clock.calendar.add_working_days(today, settings.ODR_DEADLINE_REMINDER_WORKING_DAYS)
    candidates = (
        selectors.disputes_for(agency)
        .exclude(status__in=selectors.OPEN_EXCLUDED)
        .annotate(next_deadline=selectors.next_deadline())
        .filter(next_deadline__lte=horizon)  # the queue's deadline index
        .select_related("mou", "assignment__assignee")
    )
    supervisors = [person.email for person in supervisors_of(agency) if person.email]
    notices = []
    for dispute in candidates.iterator(chunk_size=500):
        our_side = selectors.agency_side(dispute, agency)
        if selectors.acting_side(dispute) != our_side:
            continue
        assignment = getattr(dispute, "assignment", None)
        for name in selectors.DEADLINE_FIELDS:
            due_on = getattr(dispute, name)
            if due_on is None or due_on > horizon:
                continue
            if due_on < today:
                notices.append(
                    DeadlineNotice(
                        dispute=dispute,
                        deadline=name,
                        due_on=due_on,
                        kind=DeadlineNotice.Kind.ESCALATION,
                        recipients=supervisors,
                    )
                )
            elif assignment is not None:
                email = assignment.assignee.email if assignment.assignee_id else ""
                notices.append(
                    DeadlineNotice(
                        dispute=dispute,
                        deadline=name,
                        due_on=due_on,
                        kind=DeadlineNotice.Kind.REMINDER,
                        recipients=[email] if email else [],
                    )
                )
    if not notices:
        return 0
    before = DeadlineNotice.objects.count()
    DeadlineNotice.objects.bulk_create(notices, ignore_conflicts=True, batch_size=500)
    return DeadlineNotice.objects.count() - before


def supervisors_of(agency: Agency) -> list:
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name=SUPERVISORS)
        .filter(Q(staff_membership__isnull=True) | Q(staff_membership__agency=agency))
        .distinct()
        .order_by("pk")
    )


def send_due_notices() -> int:
    """Send unsent notices, one per transaction over one mail connection; returns how many were
    sent. One per transaction, not a batch: a worker killed (or an address refused) midway
    through a batch would roll back the whole batch's ``sent_at``, and the emails it had sent
    already would go out again."""
    sent = 0
    connection = get_connection()
    try:
        while True:
            with transaction.atomic():
                notice = (
                    DeadlineNotice.objects.filter(sent_at=None)
                    .select_for_update(skip_locked=True, of=("self",))
                    .select_related("dispute")
                    .order_by("created_at", "pk")
                    .first()
                )
                if notice is None:
                    return sent
                if notice.recipients:
                    connection.open()  # the first time only; send_messages would close its own
                    connection.send_messages([_email(notice)])
                DeadlineNotice.objects.filter(pk=notice.pk).update(sent_at=timezone.now())
                sent += 1
    finally:
        connection.close()


def _email(notice: DeadlineNotice) -> EmailMessage:
    dispute = notice.dispute
    url = settings.ODR_PUBLIC_URL + reverse("casework:detail", args=[dispute.reference])
    languages = selectors.node_agency().languages or [settings.LANGUAGE_CODE]
    with translation.override(languages[0]):  # the agency's own language
        label = str(Dispute._meta.get_field(notice.deadline).verbose_name)
        if notice.kind == DeadlineNotice.Kind.REMINDER:
            subject = _("Reminder: %(deadline)s for %(reference)s on %(due)s") % {
                "deadline": label,
                "reference": dispute.reference,
                "due": notice.due_on.isoformat(),
            }
        else:
            subject = _("Overdue: %(deadline)s for %(reference)s was due on %(due)s") % {
                "deadline": label,
                "reference": dispute.reference,
                "due": notice.due_on.isoformat(),
            }
    body = f"{subject}\n\n{url}\n"
    return EmailMessage(subject, body, to=notice.recipients)
