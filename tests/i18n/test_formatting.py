"""Money, numbers and dates as a reader of each language expects them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from odr.l10n import format_money

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("language", "amount", "currency", "shown"),
    [
        # Indonesian: dot groups, comma decimals; rupiah without decimals.
        ("id", Decimal("1250000"), "IDR", f"Rp{NBSP}1.250.000"),
        ("id", 1250000, "KRW", "₩1.250.000"),
        ("id", "1250", "GBP", "£1.250,00"),
        # Korean: comma groups; won never has decimals.
        ("ko", Decimal("1250000"), "KRW", "₩1,250,000"),
        ("ko", 1250000, "IDR", f"IDR{NBSP}1,250,000"),
        ("ko", "1250", "GBP", "£1,250.00"),
        # British English.
        ("en", "1250.5", "GBP", "£1,250.50"),
        ("en", 1250000, "IDR", f"IDR{NBSP}1,250,000"),
        ("en", 1250000, "KRW", "₩1,250,000"),
        ("en", -5000, "IDR", f"-IDR{NBSP}5,000"),
    ],
)
def test_money_in_each_language(language, amount, currency, shown):
    assert format_money(amount, currency, language) == shown


def test_money_filter_follows_the_active_language():
    template = Template("{% load odr_format %}{{ amount|money:currency }}")
    context = Context({"amount": Decimal("1250000.00"), "currency": "IDR"})
    with translation.override("id"):
        assert template.render(context) == f"Rp{NBSP}1.250.000"
    with translation.override("en"):
        assert template.render(context) == f"IDR{NBSP}1,250,000"


def test_money_filter_shows_nothing_for_a_missing_amount():
    template = Template("{% load odr_format %}[{{ amount|money:'IDR' }}]")
    assert template.render(Context({"amount": None})) == "[]"


def test_number_filter_groups_digits_per_language():
    template = Template("{% load odr_format %}{{ value|number }}")
    with translation.override("id"):
        assert template.render(Context({"value": 1250000})) == "1.250.000"
    with translation.override("ko"):
        assert template.render(Context({"value": 1250000})) == "1,250,000"


def test_dates_follow_the_language_and_english_is_british():
    template = Template('{{ day|date:"DATE_FORMAT" }} | {{ day|date:"SHORT_DATE_FORMAT" }}')
    context = Context({"day": dt.date(2026, 11, 25)})
    with translation.override("en"):
        assert template.render(context) == "25 Nov 2026 | 25/11/2026"
    with translation.override("id"):
        assert template.render(context) == "25 November 2026 | 25-11-2026"
    with translation.override("ko"):
        assert template.render(context) == "2026년 11월 25일 | 2026. 11. 25."


def test_times_are_shown_in_the_viewers_time_zone_and_language():
    from django.utils import timezone

    moment = dt.datetime(2026, 11, 25, 7, 5, tzinfo=dt.UTC)
    template = Template('{{ moment|date:"DATETIME_FORMAT" }}')
    with timezone.override("Asia/Jakarta"), translation.override("id"):
        assert template.render(Context({"moment": moment})) == "25 November 2026, 14.05"
    with timezone.override("Asia/Seoul"), translation.override("ko"):
        assert template.render(Context({"moment": moment})) == "2026년 11월 25일 오후 4:05"
    with timezone.override("Europe/London"), translation.override("en"):
        assert template.render(Context({"moment": moment})) == "25 Nov 2026, 07:05"
