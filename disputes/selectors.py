"""Reads about disputes."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from .lifecycle import OPEN_STATUSES
from .models import Dispute

DEADLINE_FIELDS = (
    "review_due_on",
    "acknowledge_due_on",
    "merchant_contact_due_on",
    "resolution_due_on",
)


def overdue_disputes(today: dt.date) -> QuerySet[Dispute]:
    """Open disputes with at least one deadline before ``today``."""
    late = Q()
    for name in DEADLINE_FIELDS:
        late |= Q(**{f"{name}__lt": today})
    return Dispute.objects.filter(status__in=OPEN_STATUSES).filter(late)


def missed_deadlines(dispute: Dispute, today: dt.date) -> list[tuple[str, dt.date]]:
    return [
        (name, getattr(dispute, name))
        for name in DEADLINE_FIELDS
        if getattr(dispute, name) is not None and getattr(dispute, name) < today
    ]
