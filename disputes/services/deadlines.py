"""Working-day deadlines: which one runs in each stage, on the calendar of the agency that acts.

Owns: ``agency_today``, ``acting_agency`` and ``compute_deadlines``;
``transitions.flag_missed_deadlines`` records the ones missed.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from agencies.models import Agency
from agencies.selectors import agency_calendar

from ..models import Dispute, Status


def agency_today(agency: Agency, now: dt.datetime | None = None) -> dt.date:
    import zoneinfo

    now = now or timezone.now()
    return now.astimezone(zoneinfo.ZoneInfo(agency.country.timezone)).date()


def acting_agency(dispute: Dispute) -> Agency:
    """The agency on whose calendar a settlement's dates are read: the partner once there is
    one, else home."""
    return dispute.partner_agency if dispute.partner_agency_id else dispute.home_agency


def compute_deadlines(dispute: Dispute, now: dt.datetime | None = None) -> list[str]:
    """Set the deadline of the stage the dispute is in, on the calendar of the agency that acts.

    Returns the names of the fields that changed.
    """
    before = {
        name: getattr(dispute, name)
        for name in (
            "review_due_on",
            "acknowledge_due_on",
            "merchant_contact_due_on",
            "resolution_due_on",
        )
    }
    status = dispute.status
    home = dispute.home_agency
    if status in (Status.SUBMITTED, Status.UNDER_REVIEW):
        today = agency_today(home, now)
        if status == Status.SUBMITTED or dispute.review_due_on is None:
            dispute.review_due_on = agency_calendar(home, today).add_working_days(
                today, home.review_deadline_days
            )
        dispute.acknowledge_due_on = None
    elif status == Status.CLARIFICATION_REQUESTED:
        # The agency's clock stops while it waits for the consumer.
        dispute.review_due_on = None
    elif status == Status.FORWARDED and dispute.mou_id:
        partner = dispute.partner_agency
        today = agency_today(partner, now)
        dispute.review_due_on = None
        dispute.acknowledge_due_on = agency_calendar(partner, today).add_working_days(
            today, dispute.mou.acknowledge_days
        )
    elif status == Status.ACCEPTED_BY_PARTNER and dispute.mou_id:
        partner = dispute.partner_agency
        today = agency_today(partner, now)
        calendar = agency_calendar(partner, today)
        dispute.acknowledge_due_on = None
        dispute.merchant_contact_due_on = calendar.add_working_days(
            today, dispute.mou.merchant_contact_days
        )
        dispute.resolution_due_on = calendar.add_working_days(today, dispute.mou.resolution_days)
    elif status in (Status.MERCHANT_CONTACTED, Status.NEGOTIATION, Status.MEDIATION):
        dispute.merchant_contact_due_on = None
    else:
        dispute.review_due_on = None
        dispute.acknowledge_due_on = None
        dispute.merchant_contact_due_on = None
        dispute.resolution_due_on = None
    return [name for name, value in before.items() if getattr(dispute, name) != value]


# --- the timeline and what follows an event ---------------------------------------------------
