"""Working-day arithmetic across weekends and each country's public holidays."""

import datetime as dt

import pytest

from agencies.calendar import calendar_for
from agencies.models import Country, PublicHoliday
from agencies.selectors import working_calendar

D = dt.date


def test_a_deadline_skips_the_weekend():
    calendar = calendar_for([1, 2, 3, 4, 5], [])
    friday = D(2026, 11, 27)
    assert calendar.add_working_days(friday, 1) == D(2026, 11, 30)  # Monday
    assert calendar.add_working_days(friday, 5) == D(2026, 12, 4)
    assert calendar.add_working_days(friday, 0) == friday


def test_a_deadline_skips_holidays_and_a_case_filed_on_a_saturday_counts_from_monday():
    holiday = D(2026, 12, 25)
    calendar = calendar_for([1, 2, 3, 4, 5], [holiday])
    assert calendar.add_working_days(D(2026, 12, 24), 1) == D(2026, 12, 28)
    assert calendar.add_working_days(D(2026, 11, 28), 1) == D(2026, 11, 30)


def test_working_days_between_counts_both_ways():
    calendar = calendar_for([1, 2, 3, 4, 5], [D(2026, 12, 25)])
    assert calendar.working_days_between(D(2026, 12, 21), D(2026, 12, 28)) == 4
    assert calendar.working_days_between(D(2026, 12, 28), D(2026, 12, 21)) == -4


def test_a_six_day_working_week_is_respected():
    calendar = calendar_for([1, 2, 3, 4, 5, 6], [])
    assert calendar.add_working_days(D(2026, 11, 27), 1) == D(2026, 11, 28)


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        calendar_for([1], []).add_working_days(D(2026, 1, 1), -1)


def test_seeded_calendars_know_each_countrys_holidays(seeded):
    # Korea: Chuseok 2026 falls on 24-26 September; Indonesia: Independence Day on 17 August;
    # England: Boxing Day 2026 is observed on Monday 28 December.
    korea = working_calendar(Country.objects.get(code="KR"), D(2026, 9, 1))
    assert not korea.is_working_day(D(2026, 9, 25))
    assert korea.add_working_days(D(2026, 9, 23), 1) == D(2026, 9, 28)
    indonesia = working_calendar(Country.objects.get(code="ID"), D(2026, 8, 1))
    assert not indonesia.is_working_day(D(2026, 8, 17))
    assert PublicHoliday.objects.filter(country="ID", date=D(2026, 8, 17)).exists()
    england = working_calendar(Country.objects.get(code="GB"), D(2026, 12, 1))
    assert england.add_working_days(D(2026, 12, 24), 1) == D(2026, 12, 29)
