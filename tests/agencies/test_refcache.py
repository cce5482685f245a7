"""Reference rows are kept in each process for a few seconds, and never rows that a rollback
took back. These tests run outside a test transaction, as the inbox and the services do in
production, so the cache is really filled."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies import refcache
from agencies.models import Category, ExchangeRate, MoU
from agencies.selectors import convert_amount, scope_problems

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_cache():
    refcache.clear()
    yield
    refcache.clear()


def test_a_new_exchange_rate_counts_at_once_in_the_process_that_saved_it(seeded):
    before = convert_amount(Decimal("1000"), "KRW", "USD")
    newer = timezone.now().date() + dt.timedelta(days=1)
    ExchangeRate.objects.create(currency="KRW", per_usd=Decimal("1000"), as_of=newer)
    assert convert_amount(Decimal("1000"), "KRW", "USD") == Decimal("1")
    assert before != Decimal("1")


def test_a_change_of_an_mous_categories_counts_at_once(seeded):
    mou = MoU.objects.get(reference="MOU-BPKN-KCA-2021")
    clothing = Category.objects.get(code="clothing")
    assert not scope_problems(mou, category_id=clothing.pk, amount=None, currency="KRW")
    mou.categories.set([Category.objects.get(code="electronics")])
    problems = scope_problems(mou, category_id=clothing.pk, amount=None, currency="KRW")
    assert [code for code, _message in problems] == ["category_not_covered"]


def test_rows_a_rolled_back_transaction_wrote_are_not_kept(seeded):
    with pytest.raises(RuntimeError), transaction.atomic():
        Category.objects.create(code="gardening", name="Gardening")
        # The transaction sees its own row...
        assert refcache.by_code(Category, "gardening") is not None
        raise RuntimeError("rolled back")
    # ...and no one sees it after the rollback.
    assert refcache.by_code(Category, "gardening") is None
    assert not Category.objects.filter(code="gardening").exists()


def test_a_transaction_that_changed_no_reference_row_fills_the_cache(seeded):
    with transaction.atomic():
        assert refcache.by_code(Category, "clothing") is not None
    with CaptureQueriesContext(connection) as queries:
        assert refcache.by_code(Category, "clothing").code == "clothing"
    assert not queries.captured_queries
