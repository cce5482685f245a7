"""Reads about disputes."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet

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


def rating_summary(ratings: QuerySet[Rating] | None = None) -> dict[str, dict] | None:
    """Consumers' ratings of the result and of the handling (every rating here when None): per
    aspect how many, the average and how many gave each score; None when there are none."""
    ratings = Rating.objects.all() if ratings is None else ratings
    rows = list(ratings.order_by().values("aspect", "score").annotate(count=Count("pk")))
    if not rows:
        return None
    summary: dict[str, dict] = {}
    for row in rows:
        aspect = summary.setdefault(
            row["aspect"], {"count": 0, "total": 0, "scores": dict.fromkeys(range(1, 6), 0)}
        )
        aspect["count"] += row["count"]
        aspect["total"] += row["score"] * row["count"]
        aspect["scores"][row["score"]] = row["count"]
    for aspect in summary.values():
        aspect["average"] = round(aspect.pop("total") / aspect["count"], 2)
    return summary
