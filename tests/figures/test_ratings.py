"""Consumer ratings (given on the tracking page after the outcome) in the staff figures."""

from __future__ import annotations

import pytest
from django.utils import timezone

from agencies.models import Category
from disputes import services
from figures import selectors
from tests.factories import file_dispute

pytestmark = pytest.mark.django_db


def rated(result: int, handling: int, category: str = "electronics"):
    dispute = file_dispute(category=category)
    consumer = services.Actor.consumer(dispute.consumer_name)
    services.withdraw_dispute(dispute, actor=consumer)
    for aspect, score in (("result", result), ("handling", handling)):
        services.rate_dispute(dispute, actor=consumer, aspect=aspect, score=score, language="id")
    return dispute


def test_ratings_of_the_period_are_counted_and_averaged_by_the_filters(seeded):
    period = selectors.default_filters(timezone.localdate())
    assert selectors.consumer_ratings(period) is None
    rated(5, 4)
    rated(2, 3, category="clothing")

    ratings = selectors.consumer_ratings(period)
    assert (ratings["result"]["count"], ratings["result"]["average"]) == (2, 3.5)
    assert ratings["handling"]["scores"] == {1: 0, 2: 0, 3: 1, 4: 1, 5: 0}
    electronics = selectors.Filters(
        period.first_month, period.last_month, category=Category.objects.get(code="electronics")
    )
    assert selectors.consumer_ratings(electronics)["result"]["average"] == 5.0
    two_years_ago = period.first_month.replace(year=period.first_month.year - 2)
    assert selectors.consumer_ratings(selectors.Filters(two_years_ago, two_years_ago)) is None
