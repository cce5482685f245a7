"""Writes of the statistics: rebuilding the working-day calendar and the monthly rollups."""

from __future__ import annotations

import datetime as dt
import time

from django.db import transaction
from django.utils import timezone

from agencies.models import Agency, Country, PublicHoliday
from agencies.selectors import this_agency

from . import selectors
from .models import FiguresRefresh, MonthlyFigure, WorkingDay

CALENDAR_DAYS_AHEAD = 400
BATCH = 2000


def refresh_working_days(countries: list[str], first: dt.date, last: dt.date) -> int:
    """Number every day of each country from ``first`` to ``last`` by its working days so far."""
    written = 0
    for country in Country.objects.filter(code__in=countries):
        holidays = set(
            PublicHoliday.objects.filter(
                country=country, date__gte=first, date__lte=last
            ).values_list("date", flat=True)
        )
        week = set(country.working_week)
        rows, ordinal, day = [], 0, first
        while day <= last:
            if day.isoweekday() in week and day not in holidays:
                ordinal += 1
            rows.append(WorkingDay(country=country, date=day, ordinal=ordinal))
            day += dt.timedelta(days=1)
        WorkingDay.objects.filter(country=country).delete()
        WorkingDay.objects.bulk_create(rows, batch_size=BATCH)
        written += len(rows)
    return written


@transaction.atomic
def refresh_figures(node: Agency | None = None, now: dt.datetime | None = None) -> FiguresRefresh:
    """Rebuild every monthly figure of this node from its disputes, in one transaction.

    Readers keep seeing the previous figures until it commits. Idempotent: run nightly by
    ``figures.tasks.refresh_figures`` and by ``manage.py refresh_figures``.
    """
    started = time.monotonic()
    node = node or this_agency()
    now = now or timezone.now()
    first_filed, disputes = selectors.disputes_span(node)
    zone = selectors.node_zone(node)
    first = (first_filed.astimezone(zone).date() if first_filed else now.date()) - dt.timedelta(
        days=7
    )
    refresh_working_days(
        selectors.countries_counted(node), first, now.date() + dt.timedelta(CALENDAR_DAYS_AHEAD)
    )
    MonthlyFigure.objects.all().delete()
    batch = []
    for row in selectors.rollup_rows(node):
        month = row["month"]
        batch.append(
            MonthlyFigure(
                month=month.date() if isinstance(month, dt.datetime) else month,
                measure=row["measure"],
                partner_id=row["partner_id"],
                category_id=row["category_ref"],
                channel=row["channel"] or "",
                key=row.get("key") or "",
                days=row.get("days"),
                count=row["count"],
                amount=row.get("amount"),
            )
        )
        if len(batch) >= BATCH:
            MonthlyFigure.objects.bulk_create(batch)
            batch = []
    MonthlyFigure.objects.bulk_create(batch)
    FiguresRefresh.objects.all().delete()
    return FiguresRefresh.objects.create(
        finished_at=timezone.now(), disputes=disputes, seconds=time.monotonic() - started
    )
