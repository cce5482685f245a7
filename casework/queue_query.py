"""The queue's query: its filters, the search, the sort orders and keyset pages, written so that
PostgreSQL can answer them from the indexes of migration 0003 with a million disputes
(docs/performance.md). Who may see which disputes comes from ``selectors``."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DateField,
    DateTimeField,
    Exists,
    Expression,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    Window,
)

from agencies.models import Agency
from disputes.merchant_watch import against_a_repeat_merchant
from disputes.models import Dispute

from .models import DeadlineNotice
from .selectors import (
    OPEN_EXCLUDED,
    disputes_for,
    disputes_visible_to,
    needs_action_from,
    next_deadline,
)


class RowCompare(Expression):
    """``(a, b, c) > (x, y, z)``: where keyset pagination starts, in one index range."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, columns, values, operator: str):
        super().__init__()
        self.columns = list(columns)
        self.values = list(values)
        self.operator = operator

    def get_source_expressions(self):
        return [*self.columns, *self.values]

    def set_source_expressions(self, expressions):
        self.columns = expressions[: len(self.columns)]
        self.values = expressions[len(self.columns) :]

    def as_sql(self, compiler, connection):
        sides, params = [], []
        for group in (self.columns, self.values):
            parts = []
            for expression in group:
                sql, part_params = compiler.compile(expression)
                parts.append(sql)
                params.extend(part_params)
            sides.append("(" + ", ".join(parts) + ")")
        return f"{sides[0]} {self.operator} {sides[1]}", params


SEARCHED_FIELDS = ("reference", "merchant_name", "merchant_website", "consumer_name")


class SearchMatch(Expression):
    """The term anywhere in the reference, merchant name, merchant web domain or consumer name,
    case-insensitively: one ``LIKE`` on one expression, the very one the trigram index of
    migration 0003 is built on (the separator is written in the SQL, not a parameter)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, term: str):
        super().__init__()
        self.term = term

    def as_sql(self, compiler, connection, cast: str = "::text"):
        quote = compiler.quote_name_unless_alias
        table = quote(Dispute._meta.db_table)
        text = " || ' | ' || ".join(f"{table}.{quote(name)}{cast}" for name in SEARCHED_FIELDS)
        escaped = self.term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"UPPER({text}) LIKE UPPER(%s)", [f"%{escaped}%"]

    def as_sqlite(self, compiler, connection):
        sql, params = self.as_sql(compiler, connection, cast="")
        return sql + " ESCAPE '\\'", params


# Sort orders of the queue: the columns, in order, and whether they run backwards.
SORTS = {
    "deadline": (("next_deadline", "filed_at", "pk"), False),
    "newest": (("filed_at", "pk"), True),
    "oldest": (("filed_at", "pk"), False),
}
SORT_FIELDS = {"next_deadline": DateField(), "filed_at": DateTimeField(), "pk": IntegerField()}


@dataclass(frozen=True)
class QueueCriteria:
    status: str = ""
    needs_action: bool = False
    search: str = ""
    partner_id: int | None = None
    category_id: int | None = None
    due: str = ""  # "", overdue, today, or a number of working days
    assigned: str = ""  # "", me, unassigned, or a user id
    sort: str = "deadline"


def queue(
    agency: Agency,
    criteria: QueueCriteria | None = None,
    *,
    user=None,
    today: dt.date | None = None,
    calendar=None,
) -> QuerySet[Dispute]:
    """The queue this person may see, filtered and sorted, with everything a row shows joined."""
    criteria = criteria or QueueCriteria()
    disputes = disputes_visible_to(user, agency) if user is not None else disputes_for(agency)
    disputes = disputes.select_related(
        "home_agency",
        "partner_agency",
        "mou",
        "consumer_country",
        "merchant_country",
        "assignment__assignee",
    ).annotate(
        next_deadline=next_deadline(),
        escalated=Exists(
            DeadlineNotice.objects.filter(
                dispute=OuterRef("pk"), kind=DeadlineNotice.Kind.ESCALATION
            )
        ),
        repeat_merchant=against_a_repeat_merchant(agency),
    )
    if criteria.status:
        disputes = disputes.filter(status=criteria.status)
    if criteria.needs_action:
        disputes = disputes.filter(needs_action_from(agency))
    if criteria.partner_id is not None:
        disputes = disputes.filter(
            Q(partner_agency_id=criteria.partner_id) | Q(home_agency_id=criteria.partner_id)
        )
    if criteria.category_id is not None:
        disputes = disputes.filter(category_id=criteria.category_id)
    if criteria.due:
        disputes = _due_within(disputes, criteria.due, today, calendar)
    if criteria.assigned == "me" and user is not None:
        disputes = disputes.filter(assignment__assignee=user)
    elif criteria.assigned == "unassigned":
        disputes = disputes.filter(assignment__isnull=True)
    elif criteria.assigned.isdigit():
        disputes = disputes.filter(assignment__assignee_id=int(criteria.assigned))
    search = criteria.search.strip()
    if search:
        disputes = disputes.filter(SearchMatch(search))
    columns, backwards = SORTS.get(criteria.sort, SORTS["deadline"])
    return disputes.order_by(*(f"-{name}" if backwards else name for name in columns))


def _due_within(disputes, due: str, today, calendar):
    open_disputes = disputes.exclude(status__in=OPEN_EXCLUDED)
    if due == "overdue":
        return open_disputes.filter(next_deadline__lt=today)
    if due == "today":
        return open_disputes.filter(next_deadline=today)
    days = int(due)
    return open_disputes.filter(
        next_deadline__gte=today, next_deadline__lte=calendar.add_working_days(today, days)
    )


@dataclass
class QueuePage:
    rows: list[Dispute]
    next_cursor: list | None
    count: int
    count_is_capped: bool


# Counting stops here: counting a million rows is not worth the wait. It is also where a search
# is "narrow": about sqrt(26 x 1,000,000) matches is where walking the deadline index for 26
# of them starts to cost more than fetching all of them and sorting (docs/performance.md).
COUNT_CAP = 5000


def estimated_rows(queryset: QuerySet) -> int:
    """PostgreSQL's estimate of how many rows the query returns (planning only, no reading);
    elsewhere 0, so that the caller counts."""
    if connection.vendor != "postgresql":
        return 0
    plan = json.loads(queryset.explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class Unindexed(Func):
    """``expression + 0``: the same order, but not the deadline index's expression, so that
    PostgreSQL fetches a narrow search's matches through the trigram indexes and sorts them
    instead of walking the deadline index past a million rows that do not match."""

    template = "(%(expressions)s + 0)"
    output_field = DateField()

    def as_sqlite(self, compiler, connection, **extra):
        # No such index on SQLite, and there a date plus 0 would be a number.
        return compiler.compile(self.source_expressions[0])


def _narrow_page(disputes: QuerySet[Dispute], ranked: QuerySet[Dispute], size: int):
    """A narrow search's page in two steps: the matches are ranked and counted as bare ids (no
    joins, narrow rows that sort in memory), then only the page's rows are read whole. In one
    query PostgreSQL joined every match to its agencies, countries and assignee before sorting
    them (8,000 matches: 219 ms, against 96 ms this way; docs/performance.md).

    Counted after the cursor: on a later page, the matches from here on."""
    page = list(ranked.values_list("pk", "matches")[: size + 1])
    rows = disputes.in_bulk([pk for pk, _matches in page])
    return [rows[pk] for pk, _matches in page if pk in rows], page[0][1] if page else 0


def queue_page(
    disputes: QuerySet[Dispute],
    sort: str,
    after: list | None,
    size: int,
    *,
    search: str = "",
) -> QueuePage:
    """One page after the cursor (the sort values of the last row seen), the cursor for the
    next one, and the number of matches up to COUNT_CAP.

    A search is first judged narrow or broad by PostgreSQL's estimate of the search term alone
    (planning only): a broad one walks the deadline index and is not counted (counting would
    read every match); a narrow one fetches its matches by the trigram index, sorts them, and
    counts them in the same query.
    """
    columns, backwards = SORTS.get(sort, SORTS["deadline"])
    page_query = disputes
    deadline = next_deadline()
    count = None
    narrow = False
    if search:
        estimate = estimated_rows(Dispute.objects.filter(SearchMatch(search)).values("pk"))
        narrow = estimate <= COUNT_CAP
        if not narrow:
            count = COUNT_CAP + 1
    if count is None and not narrow:
        count = disputes.order_by().values("pk")[: COUNT_CAP + 1].count()
    if narrow:
        page_query = page_query.annotate(matches=Window(Count("pk")))
        if columns[0] == "next_deadline":
            deadline = Unindexed(next_deadline())
            page_query = page_query.order_by(deadline, *columns[1:])
    if after is not None and len(after) == len(columns):
        page_query = page_query.filter(
            RowCompare(
                [F(name) if name != "next_deadline" else deadline for name in columns],
                [
                    Value(value, output_field=SORT_FIELDS[name])
                    for name, value in zip(columns, after, strict=True)
                ],
                "<" if backwards else ">",
            )
        )
    if narrow:
        rows, count = _narrow_page(disputes, page_query, size)
    else:
        rows = list(page_query[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = [getattr(last, name) for name in columns]
    return QueuePage(rows, next_cursor, min(count, COUNT_CAP), count > COUNT_CAP)
