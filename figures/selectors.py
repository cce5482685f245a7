"""Reads for the statistics: the only place this app reads disputes and relay rows.

Two stages, both aggregating in the database:

* ``rollup_rows`` groups the node's disputes (and their timeline) into monthly rows, one query
  per measure; ``services.refresh_figures`` stores them as ``MonthlyFigure``;
* ``staff_figures`` / ``public_figures`` sum those rows for a period, partner and category.
  Percentiles come exactly from the histogram of whole working days (nearest rank).

Definitions (docs/statistics.md says the same to agencies):

* a case is *forwarded* the first time it moved to ``forwarded``, *received* by this node when
  this node is its partner agency (dated by that forward);
* its *outcome* is the last of settled / not settled / referred to adjudication / withdrawn /
  out of scope it reached, dated then; a case that was reopened (moved on from an outcome to an
  open status) has no outcome until it reaches one again;
* it is *resolved* when that outcome is settled, not settled or referred to adjudication; time
  to resolution counts working days of this node's calendar from filing to that last outcome;
  *in time* compares the working days from the partner's acceptance to resolution with the
  MoU's ``resolution_days``, on the partner's calendar (where the MoU's deadline is counted);
* a *merchant answer* is any timeline event written for the merchant (actor ``merchant``);
  time to first answer counts from the first ``merchant_contacted``; the response rate is the
  share of contacted merchants that answered;
* money recovered is the settlement amount of settled cases, per currency, never converted.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf, TruncDate, TruncMonth

from agencies.models import Agency, Category, MoU
from agencies.selectors import this_agency
from casework.selectors import node_agency, works_here
from disputes.models import Dispute, IntakeChannel, ProblemType, Status, TimelineEvent
from relay.models import OutboundPacket

from .models import FiguresRefresh, Measure, MonthlyFigure, WorkingDay

OUTCOMES = (
    Status.SETTLED,
    Status.NOT_SETTLED,
    Status.REFERRED_TO_ADJUDICATION,
    Status.WITHDRAWN,
    Status.OUT_OF_SCOPE,
)
RESOLVED = (Status.SETTLED, Status.NOT_SETTLED, Status.REFERRED_TO_ADJUDICATION)
# Statuses in which a case keeps the outcome it reached (closing does not change it).
SETTLED_STATE = (*OUTCOMES, Status.CLOSED)
CASES = (Measure.FILED, Measure.RECEIVED)
CENT = Decimal("0.01")


def can_view_statistics(user) -> bool:
    """Who sees the staff statistics, exports and MoU reports: the one check every view calls.

    Supervisors and agency admins of this node's agency (their roles carry
    ``figures.view_statistics``, agencies/roles.py); staff of another agency never.
    """
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.has_perm("figures.view_statistics") and works_here(user, node_agency())


# --- stage 1: the node's disputes grouped into monthly rows -----------------------------------


def node_zone(node: Agency) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(node.country.timezone or "UTC")


def disputes_span(node: Agency) -> tuple[dt.datetime | None, int]:
    """The first filing time of the node's disputes, and how many there are."""
    from django.db.models import Min

    found = _node_disputes(node).aggregate(first=Min("filed_at"), count=Count("pk"))
    return found["first"], found["count"]


def countries_counted(node: Agency) -> list[str]:
    """Countries whose working days the figures need: the node's and its partners'."""
    return sorted(set(Agency.objects.values_list("country_id", flat=True)) | {node.country_id})


def _node_disputes(node: Agency) -> QuerySet[Dispute]:
    return Dispute.objects.filter(Q(home_agency=node) | Q(partner_agency=node))


def _status_event(field: str, statuses, *, last: bool) -> Subquery:
    events = TimelineEvent.objects.filter(
        dispute=OuterRef("pk"), kind=TimelineEvent.Kind.STATUS_CHANGED, to_status__in=statuses
    ).order_by("-at" if last else "at", "-pk" if last else "pk")
    return Subquery(events.values(field)[:1])


def _first_merchant_event() -> Subquery:
    events = TimelineEvent.objects.filter(
        dispute=OuterRef("pk"), actor=TimelineEvent.Actor.MERCHANT
    ).order_by("at", "pk")
    return Subquery(events.values("at")[:1])


def _ordinal(country, day_field: str) -> Subquery:
    days = WorkingDay.objects.filter(country_id=country, date=OuterRef(day_field))
    return Subquery(days.values("ordinal")[:1], output_field=IntegerField())


def _dimensions(node: Agency, month_of: str, tz) -> dict:
    """The keys every row has: month, the other agency of the case, category, channel."""
    return {
        "month": TruncMonth(month_of, tzinfo=tz),
        "partner_id": Case(
            When(home_agency=node, then=F("partner_agency")),
            default=F("home_agency"),
            output_field=IntegerField(),
        ),
        "category_ref": F("category"),
        "channel": F("intake_channel"),
    }


def rollup_rows(node: Agency) -> Iterator[dict]:
    """Every monthly row of the node's figures, as dicts of MonthlyFigure's fields."""
    tz = node_zone(node)
    base = _node_disputes(node).order_by()
    first_forward = _status_event("at", [Status.FORWARDED], last=False)

    def grouped(queryset, measure: str, month_of: str, **extra):
        values = {**_dimensions(node, month_of, tz), **extra}
        if measure not in CASES:
            # Channels are only broken down for the cases themselves: fewer rows to sum.
            values["channel"] = Value("", output_field=CharField())
        for row in queryset.values(**values).annotate(count=Count("pk", distinct=True)):
            yield {"measure": measure, **row}

    yield from grouped(base.filter(home_agency=node), Measure.FILED, "filed_at")
    forwarded = base.annotate(forwarded_at=first_forward).filter(forwarded_at__isnull=False)
    yield from grouped(forwarded.filter(home_agency=node), Measure.FORWARDED, "forwarded_at")
    received = base.filter(partner_agency=node).annotate(
        received_at=Coalesce(first_forward, F("filed_at"))
    )
    yield from grouped(received, Measure.RECEIVED, "received_at")
    yield from grouped(base, Measure.PROBLEM, "filed_at", key=F("problem_types__code"))

    ended = base.filter(status__in=SETTLED_STATE).annotate(
        outcome=_status_event("to_status", OUTCOMES, last=True),
        outcome_at=_status_event("at", OUTCOMES, last=True),
    )
    ended = ended.filter(outcome_at__isnull=False)
    yield from grouped(ended, Measure.OUTCOME, "outcome_at", key=F("outcome"))

    resolved = (
        ended.filter(outcome__in=RESOLVED)
        .annotate(
            filed_day=TruncDate("filed_at", tzinfo=tz),
            resolved_day=TruncDate("outcome_at", tzinfo=tz),
            accepted_day=TruncDate(
                _status_event("at", [Status.ACCEPTED_BY_PARTNER], last=False), tzinfo=tz
            ),
        )
        .annotate(
            days=_ordinal(node.country_id, "resolved_day") - _ordinal(node.country_id, "filed_day"),
            partner_days=_ordinal(OuterRef("partner_agency__country"), "resolved_day")
            - _ordinal(OuterRef("partner_agency__country"), "accepted_day"),
        )
        .annotate(
            in_time=Case(
                When(mou__isnull=True, then=Value("")),
                When(partner_days__isnull=True, then=Value("")),
                When(partner_days__lte=F("mou__resolution_days"), then=Value("in_time")),
                default=Value("late"),
                output_field=CharField(),
            )
        )
    )
    yield from grouped(resolved, Measure.RESOLVED, "outcome_at", key=F("in_time"), days=F("days"))

    settled = ended.filter(outcome=Status.SETTLED, settlement_amount__isnull=False)
    currency = Coalesce(NullIf("settlement_currency", Value("")), "currency")
    dimensions = _dimensions(node, "outcome_at", tz) | {
        "channel": Value("", output_field=CharField())
    }
    for row in settled.values(**dimensions, key=currency).annotate(
        count=Count("pk"), amount=Sum("settlement_amount")
    ):
        yield {"measure": Measure.RECOVERED, **row}

    contacted = base.annotate(
        contacted_at=_status_event("at", [Status.MERCHANT_CONTACTED], last=False),
        answered_at=_first_merchant_event(),
    ).filter(contacted_at__isnull=False)
    answered = Case(
        When(answered_at__isnull=False, then=Value("answered")),
        default=Value("unanswered"),
        output_field=CharField(),
    )
    yield from grouped(contacted, Measure.CONTACTED, "contacted_at", key=answered)
    first_answers = (
        contacted.filter(answered_at__isnull=False)
        .annotate(
            contacted_day=TruncDate("contacted_at", tzinfo=tz),
            answered_day=TruncDate("answered_at", tzinfo=tz),
        )
        .annotate(
            days=_ordinal(node.country_id, "answered_day")
            - _ordinal(node.country_id, "contacted_day")
        )
    )
    yield from grouped(first_answers, Measure.FIRST_ANSWER, "answered_at", days=F("days"))


# --- stage 2: the figures of a period ----------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    first_month: dt.date
    last_month: dt.date
    partner: Agency | None = None
    category: Category | None = None

    @property
    def end(self) -> dt.date:
        """The first day after the period."""
        return next_month(self.last_month)

    def as_query(self) -> dict:
        query = {
            "first_month": f"{self.first_month:%Y-%m}",
            "last_month": f"{self.last_month:%Y-%m}",
        }
        if self.partner:
            query["partner"] = self.partner.code
        if self.category:
            query["category"] = self.category.code
        return query


def months_back(today: dt.date, count: int) -> tuple[dt.date, dt.date]:
    """The first day of the month ``count - 1`` months before ``today``'s, and of its own."""
    last = today.replace(day=1)
    index = last.year * 12 + last.month - 1 - (count - 1)
    return dt.date(index // 12, index % 12 + 1, 1), last


def default_filters(today: dt.date | None = None) -> Filters:
    from django.utils import timezone

    today = today or timezone.localdate()
    first, last = months_back(today, 12)
    return Filters(first, last)


def next_month(month: dt.date) -> dt.date:
    """The first day of the month after ``month``'s."""
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_list(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def _rows(filters: Filters, *measures: str) -> QuerySet[MonthlyFigure]:
    rows = MonthlyFigure.objects.filter(
        measure__in=measures, month__gte=filters.first_month, month__lte=filters.last_month
    )
    if filters.partner:
        rows = rows.filter(partner=filters.partner)
    if filters.category:
        rows = rows.filter(category=filters.category)
    return rows.order_by()


def _totals(rows: QuerySet, *fields: str) -> list[dict]:
    return list(rows.values(*fields).annotate(total=Sum("count")).order_by(*fields))


def percentile(histogram: dict[int, int], share: float) -> int | None:
    """Nearest-rank percentile of whole numbers given as {value: how many}."""
    count = sum(histogram.values())
    if not count:
        return None
    rank = max(1, math.ceil(share * count))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None


def duration(filters: Filters, measure: str) -> dict:
    histogram = {row["days"]: row["total"] for row in _totals(_rows(filters, measure), "days")}
    return {
        "count": sum(histogram.values()),
        "median": percentile(histogram, 0.5),
        "p90": percentile(histogram, 0.9),
    }


def consumer_ratings(filters: Filters) -> dict | None:
    """Consumer ratings given in the period (result and handling, 1 to 5): per aspect how many,
    the average and the distribution, by the same filters; None while there are none."""
    from disputes.models import Rating
    from disputes.selectors import rating_summary

    ratings = Rating.objects.filter(
        rated_at__date__gte=filters.first_month, rated_at__date__lt=filters.end
    )
    if filters.partner:
        ratings = ratings.filter(dispute__partner_agency=filters.partner)
    if filters.category:
        ratings = ratings.filter(dispute__category=filters.category)
    return rating_summary(ratings)


def _cents(amount) -> Decimal | None:
    return None if amount is None else Decimal(amount).quantize(CENT)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _category_names_and_codes() -> tuple[dict[int, str], dict[int, str]]:
    """{pk: name} and {pk: code} of every category, from one query."""
    rows = list(Category.objects.values_list("pk", "name", "code"))
    return {pk: name for pk, name, _code in rows}, {pk: code for pk, _name, code in rows}


def _labelled(rows: list[dict], field: str, labels: dict) -> list[dict]:
    return [
        {
            "code": row[field],
            "label": str(labels.get(row[field], row[field])),
            "count": row["total"],
        }
        for row in sorted(rows, key=lambda row: -row["total"])
        if row[field] is not None
    ]


def staff_figures(filters: Filters) -> dict:
    """Every figure of the staff page, the exports and the MoU report, for one period."""
    months = month_list(filters.first_month, filters.last_month)
    flows = (Measure.FILED, Measure.FORWARDED, Measure.RECEIVED, Measure.RESOLVED)
    by_month = {month: dict.fromkeys(flows, 0) for month in months}
    for row in _totals(_rows(filters, *flows), "month", "measure"):
        by_month[row["month"]][row["measure"]] = row["total"]

    agencies = {agency.pk: agency for agency in Agency.objects.all()}
    by_partner: dict[int | None, dict] = {}
    for row in _totals(_rows(filters, *flows), "partner", "measure"):
        by_partner.setdefault(row["partner"], dict.fromkeys(flows, 0))[row["measure"]] = row[
            "total"
        ]

    cases = _rows(filters, *CASES)
    categories, category_codes = _category_names_and_codes()
    outcomes = {row["key"]: row["total"] for row in _totals(_rows(filters, Measure.OUTCOME), "key")}
    in_time = {row["key"]: row["total"] for row in _totals(_rows(filters, Measure.RESOLVED), "key")}
    contacted = {
        row["key"]: row["total"] for row in _totals(_rows(filters, Measure.CONTACTED), "key")
    }
    recovered = (
        _rows(filters, Measure.RECOVERED)
        .values("key")
        .annotate(disputes=Sum("count"), amount=Sum("amount"))
        .order_by("key")
    )
    timed = in_time.get("in_time", 0) + in_time.get("late", 0)
    answered = contacted.get("answered", 0)
    return {
        "filters": filters.as_query(),
        "as_of": last_refresh(),
        "by_month": [
            {"month": f"{month:%Y-%m}", **{str(key): by_month[month][key] for key in flows}}
            for month in months
        ],
        "by_partner": [
            {
                "code": agencies[pk].code if pk in agencies else "",
                "label": agencies[pk].short_name if pk in agencies else "—",
                **{str(key): counts[key] for key in flows},
            }
            for pk, counts in sorted(
                by_partner.items(), key=lambda item: agencies[item[0]].code if item[0] else ""
            )
        ],
        "by_channel": _labelled(_totals(cases, "channel"), "channel", dict(IntakeChannel.choices)),
        "by_category": [
            {**row, "code": category_codes.get(row["code"], "")}
            for row in _labelled(_totals(cases, "category"), "category", categories)
        ],
        "by_problem": _labelled(
            _totals(_rows(filters, Measure.PROBLEM), "key"),
            "key",
            dict(ProblemType.objects.values_list("code", "name")),
        ),
        "by_outcome": _labelled(
            [{"key": key, "total": total} for key, total in outcomes.items()],
            "key",
            dict(Status.choices),
        ),
        "time_to_first_answer": duration(filters, Measure.FIRST_ANSWER),
        "time_to_resolution": duration(filters, Measure.RESOLVED),
        "resolved_in_time": {
            "with_deadline": timed,
            "in_time": in_time.get("in_time", 0),
            "share": _share(in_time.get("in_time", 0), timed),
        },
        "merchant_response": {
            "contacted": answered + contacted.get("unanswered", 0),
            "answered": answered,
            "rate": _share(answered, answered + contacted.get("unanswered", 0)),
        },
        "recovered": [
            {"currency": row["key"], "disputes": row["disputes"], "amount": _cents(row["amount"])}
            for row in recovered
        ],
        "ratings": consumer_ratings(filters),
        "packets": packet_health(filters),
    }


def packet_health(filters: Filters) -> list[dict]:
    """Case packets this node sent in the period, per partner: states and median delivery time."""
    tz = node_zone(this_agency())
    start = dt.datetime.combine(filters.first_month, dt.time(), tz)
    end = dt.datetime.combine(filters.end, dt.time(), tz)
    packets = OutboundPacket.objects.filter(created_at__gte=start, created_at__lt=end).order_by()
    if filters.partner:
        packets = packets.filter(recipient=filters.partner)
    states = [state for state, _label in OutboundPacket.State.choices]
    health: dict[str, dict] = {}
    for row in packets.values("recipient__code", "recipient__short_name", "state").annotate(
        total=Count("pk")
    ):
        entry = health.setdefault(
            row["recipient__code"],
            {"code": row["recipient__code"], "label": row["recipient__short_name"]}
            | dict.fromkeys(states, 0),
        )
        entry[row["state"]] = row["total"]
    for code, entry in health.items():
        entry["median_delivery_seconds"] = _median_delivery(packets.filter(recipient__code=code))
    return [health[code] for code in sorted(health)]


def _median_delivery(packets: QuerySet[OutboundPacket]) -> float | None:
    delivered = packets.filter(
        state=OutboundPacket.State.ACKNOWLEDGED, receipt_at__isnull=False
    ).annotate(
        took=ExpressionWrapper(F("receipt_at") - F("created_at"), output_field=DurationField())
    )
    count = delivered.count()
    if not count:
        return None
    took = delivered.order_by("took").values_list("took", flat=True)[(count - 1) // 2]
    return round(took.total_seconds(), 1)


def active_mous(node: Agency) -> list[MoU]:
    """The MoUs in force for the node, for their monthly reports."""
    return list(
        MoU.objects.filter(Q(agency_a=node) | Q(agency_b=node), status=MoU.Status.ACTIVE)
        .select_related("agency_a", "agency_b")
        .order_by("reference")
    )


def last_refresh() -> str | None:
    refresh = FiguresRefresh.objects.order_by("-finished_at").first()
    return refresh.finished_at.isoformat() if refresh else None


# --- the public figures ------------------------------------------------------------------------


def suppress(count: int | None, minimum: int | None = None) -> int | None:
    """A count as published: None (shown as "fewer than N") when it is below the threshold."""
    minimum = settings.ODR_STATISTICS_MIN_COUNT if minimum is None else minimum
    if count is None or count < minimum:
        return None
    return count


def public_figures(year: int | None = None, today: dt.date | None = None) -> dict:
    """Aggregate figures of a calendar year (else the last twelve months) for anyone: no personal
    data, and every count below ``ODR_STATISTICS_MIN_COUNT`` (with the amount or duration it
    would reveal) withheld."""
    filters = Filters(dt.date(year, 1, 1), dt.date(year, 12, 1)) if year else default_filters(today)
    minimum = settings.ODR_STATISTICS_MIN_COUNT
    cases = _rows(filters, *CASES)
    outcomes = {row["key"]: row["total"] for row in _totals(_rows(filters, Measure.OUTCOME), "key")}
    resolution = duration(filters, Measure.RESOLVED)
    agencies = {agency.pk: agency for agency in Agency.objects.select_related("country")}
    categories, category_codes = _category_names_and_codes()
    recovered = (
        _rows(filters, Measure.RECOVERED)
        .values("key")
        .annotate(disputes=Sum("count"), amount=Sum("amount"))
        .order_by("key")
    )
    total = cases.aggregate(total=Sum("count"))["total"] or 0
    return {
        "period": filters.as_query(),
        "as_of": last_refresh(),
        "minimum_count": minimum,
        "cases": suppress(total),
        "by_outcome": [
            {"code": code, "label": str(label), "count": suppress(outcomes.get(code, 0))}
            for code, label in Status.choices
            if code in OUTCOMES
        ],
        "median_working_days_to_resolution": (
            resolution["median"] if suppress(resolution["count"]) else None
        ),
        "by_partner": [
            {
                "code": agencies[row["partner"]].code,
                "label": agencies[row["partner"]].short_name,
                "country": agencies[row["partner"]].country.name,
                "count": suppress(row["total"]),
            }
            for row in _totals(cases, "partner")
            if row["partner"] in agencies
        ],
        "by_category": [
            {
                "code": category_codes[row["category"]],
                "label": categories[row["category"]],
                "count": suppress(row["total"]),
            }
            for row in sorted(_totals(cases, "category"), key=lambda row: -row["total"])
            if row["category"] in categories
        ],
        "recovered": [
            {
                "currency": row["key"],
                "disputes": suppress(row["disputes"]),
                "amount": _cents(row["amount"]) if suppress(row["disputes"]) else None,
            }
            for row in recovered
        ],
    }
