"""The figures of a known history: counted in the database, on the right calendars and months."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models.signals import post_init

from agencies.models import Agency, Category
from disputes.models import Dispute, TimelineEvent
from figures import selectors, services
from figures.models import MonthlyFigure

FIRST_QUARTER = selectors.Filters(dt.date(2026, 1, 1), dt.date(2026, 3, 1))


def figures(filters=FIRST_QUARTER):
    services.refresh_figures()
    return selectors.staff_figures(filters)


def test_flows_by_month_follow_the_events_not_the_filing(history):
    by_month = {row["month"]: row for row in figures()["by_month"]}
    assert by_month["2026-01"] == {
        "month": "2026-01",
        "filed": 1,
        "forwarded": 1,
        "received": 0,
        "resolved": 0,
    }
    # D reached BPKN at 01:00 on 1 February in Jakarta: February, though still January in UTC.
    assert by_month["2026-02"] == {
        "month": "2026-02",
        "filed": 2,
        "forwarded": 1,
        "received": 1,
        "resolved": 1,
    }
    # C was settled in February, reopened and settled again in March: resolved once, in March.
    assert by_month["2026-03"] == {
        "month": "2026-03",
        "filed": 1,
        "forwarded": 1,
        "received": 0,
        "resolved": 2,
    }


def test_outcomes_count_the_last_one_reached_and_keep_it_when_closed(history):
    outcomes = {row["code"]: row["count"] for row in figures()["by_outcome"]}
    assert outcomes == {"settled": 2, "withdrawn": 1, "referred_to_adjudication": 1}


def test_working_days_skip_weekends_and_holidays(history):
    result = figures()
    # To resolution: A 12 (Lunar New Year not counted), C 19, E 6 working days.
    assert result["time_to_resolution"] == {"count": 3, "median": 12, "p90": 19}
    # To the first merchant answer after contact: A 2, E 1; C's merchant never answered.
    assert result["time_to_first_answer"] == {"count": 2, "median": 1, "p90": 2}
    assert result["merchant_response"] == {"contacted": 3, "answered": 2, "rate": 0.6667}
    # Within the MoU's 10 working days on Korea's calendar: A (9) and E (5), not C (15).
    assert result["resolved_in_time"] == {"with_deadline": 3, "in_time": 2, "share": 0.6667}


def test_money_recovered_stays_in_its_currency(history):
    assert figures()["recovered"] == [
        {"currency": "IDR", "disputes": 1, "amount": Decimal("1000000.00")},
        {"currency": "KRW", "disputes": 1, "amount": Decimal("350000.00")},
    ]


def test_breakdowns_by_partner_channel_category_and_problem(history):
    result = figures()
    partners = {row["code"]: row for row in result["by_partner"]}
    assert partners["KR-KCA"]["filed"] == 3  # A, C, E; B was never forwarded
    assert partners["KR-KCA"]["received"] == 1
    assert partners[""]["filed"] == 1
    assert {row["code"]: row["count"] for row in result["by_channel"]} == {"web": 4, "email": 1}
    assert {row["code"]: row["count"] for row in result["by_category"]} == {
        "electronics": 4,
        "clothing": 1,
    }
    assert {row["code"]: row["count"] for row in result["by_problem"]} == {"non_delivery": 5}
    assert result["ratings"] is None


def test_filters_narrow_every_figure(history):
    services.refresh_figures()
    clothing = selectors.staff_figures(
        selectors.Filters(
            FIRST_QUARTER.first_month,
            FIRST_QUARTER.last_month,
            category=Category.objects.get(code="clothing"),
        )
    )
    assert sum(row["filed"] for row in clothing["by_month"]) == 1
    assert clothing["recovered"] == [
        {"currency": "KRW", "disputes": 1, "amount": Decimal("350000.00")}
    ]
    uk = selectors.staff_figures(
        selectors.Filters(
            FIRST_QUARTER.first_month,
            FIRST_QUARTER.last_month,
            partner=Agency.objects.get(code="GB-UKICC"),
        )
    )
    assert sum(row["filed"] + row["received"] for row in uk["by_month"]) == 0
    february = selectors.staff_figures(selectors.Filters(dt.date(2026, 2, 1), dt.date(2026, 2, 1)))
    assert february["time_to_resolution"] == {"count": 1, "median": 12, "p90": 12}


def test_the_rollup_is_rebuilt_not_added_to(history):
    services.refresh_figures()
    rows = MonthlyFigure.objects.count()
    services.refresh_figures()
    assert MonthlyFigure.objects.count() == rows
    assert selectors.staff_figures(FIRST_QUARTER)["by_month"][0]["filed"] == 1


def test_figures_need_no_dispute_loaded_into_python(history, django_assert_max_num_queries):
    loaded = []

    def count(sender, instance, **kwargs):
        loaded.append(sender.__name__)

    for model in (Dispute, TimelineEvent):
        post_init.connect(count, sender=model)
    try:
        services.refresh_figures()
        with django_assert_max_num_queries(25):
            selectors.staff_figures(FIRST_QUARTER)
        with django_assert_max_num_queries(10):
            selectors.public_figures(2026)
    finally:
        for model in (Dispute, TimelineEvent):
            post_init.disconnect(count, sender=model)
    assert loaded == []
