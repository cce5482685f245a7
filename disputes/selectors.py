"""Reads about disputes."""

from __future__ import annotations

import datetime as dt

from django.db.models import Avg, Count, Q, QuerySet

from .lifecycle import OPEN_STATUSES
from .models import Dispute, Rating

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


def rating_summary(disputes: QuerySet[Dispute] | None = None) -> dict[str, dict]:
    """Consumers' ratings of the result and of the handling: how many and the average score,
    over ``disputes`` (every dispute rated here when None), for statistics."""
    ratings = Rating.objects.all()
    if disputes is not None:
        ratings = ratings.filter(dispute__in=disputes)
    rows = ratings.values("aspect").annotate(count=Count("pk"), average=Avg("score"))
    return {
        row["aspect"]: {"count": row["count"], "average": round(float(row["average"]), 2)}
        for row in rows
    }
