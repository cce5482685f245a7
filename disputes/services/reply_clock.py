"""The merchant's reply clock: a reminder before the reply deadline, and "the merchant did not
respond" after it, each once however many beat processes run it.

The reminder is claimed by one conditional UPDATE of ``Dispute.merchant_reminded_for``; the
silence is a lifecycle transition taken under the dispute's row lock, which only the first
caller finds possible. Both are run by ``merchants.tasks.run_merchant_reply_clock`` (beat).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from agencies.models import Agency
from agencies.selectors import agency_calendar

from ..events import merchant_link_issued
from ..models import Dispute, Status, TimelineEvent
from .actors import Actor
from .deadlines import agency_today
from .merchants import agency_of, contact_side
from .rows import holding_lock, lock_dispute
from .timeline import apply_transition, record_event

# Working days before the reply deadline when the merchant is reminded.
REMINDER_WORKING_DAYS = 2


def clock_disputes():
    """Disputes whose merchant this node invited and who has not answered yet."""
    return Dispute.objects.filter(
        status=Status.MERCHANT_CONTACTED,
        merchant_reply_due_on__isnull=False,
        merchant_replied_at__isnull=True,
        merchant__isnull=False,
    )


def clock_agency(dispute: Dispute) -> Agency:
    return agency_of(dispute, contact_side(dispute))


def remind_merchant(dispute: Dispute, now: dt.datetime | None = None) -> bool:
    """Remind the merchant once per reply deadline, when it is close; True if reminded now.

    "Once" is one conditional UPDATE: of two beat processes only one changes the row.
    """
    due = dispute.merchant_reply_due_on
    agency = clock_agency(dispute)
    today = agency_today(agency, now)
    left = agency_calendar(agency, today).working_days_between(today, due) if due else None
    if left is None or left > REMINDER_WORKING_DAYS or today > due:
        return False
    with transaction.atomic():
        won = (
            Dispute.objects.filter(
                pk=dispute.pk,
                status=Status.MERCHANT_CONTACTED,
                merchant_reply_due_on=due,
                merchant_replied_at__isnull=True,
            )
            .exclude(merchant_reminded_for=due)
            .update(merchant_reminded_for=due)
        )
        if not won:
            return False
        dispute = lock_dispute(dispute)
        record_event(
            dispute,
            Actor.system(),
            TimelineEvent.Kind.NOTE,
            text=_("The merchant was reminded that their answer is due on %(due)s.")
            % {"due": due.isoformat()},
            data={"event": "merchant_reminded", "due": due.isoformat()},
            visible_to_consumer=False,
            relay=False,
        )
        merchant_link_issued.send(sender=Dispute, dispute=dispute, kind="reminder")
    return True


@transaction.atomic
def record_merchant_silence(dispute: Dispute, now: dt.datetime | None = None) -> bool:
    """After the reply deadline, record that the merchant did not respond; True if now.

    The status check under the row lock makes it happen once, whoever else tries.
    """
    dispute = lock_dispute(dispute)
    due = dispute.merchant_reply_due_on
    if (
        dispute.status != Status.MERCHANT_CONTACTED
        or due is None
        or dispute.merchant_replied_at is not None
        or agency_today(clock_agency(dispute), now) <= due
    ):
        return False
    with holding_lock(dispute):
        apply_transition(
            dispute,
            "record_merchant_silence",
            Actor.system(),
            data={"due": due.isoformat()},
            updates={},
            now=now,
        )
    return True


def run_merchant_clock(now: dt.datetime | None = None) -> tuple[int, int]:
    """Remind merchants whose reply is due soon; record silence after the deadline."""
    reminded = silenced = 0
    waiting = clock_disputes().select_related(
        "mou", "home_agency__country", "partner_agency__country"
    )
    for dispute in waiting:
        # Only a dispute past its deadline is locked (record_merchant_silence checks again under
        # the lock); the others, most of them on every run, cost no transaction of their own.
        if agency_today(clock_agency(dispute), now) > dispute.merchant_reply_due_on:
            silenced += record_merchant_silence(dispute, now)
        elif remind_merchant(dispute, now):
            reminded += 1
    return reminded, silenced
