"""A dispute goes to the partner only under an active MoU, in force, and within its scope."""

from decimal import Decimal

import pytest

from agencies.models import Category, MoU
from agencies.services import change_mou_status
from disputes import services
from disputes.models import Status
from disputes.services import Actor
from odr.errors import OutOfScope
from tests.factories import active_mou, file_dispute


@pytest.fixture
def reviewing(seeded, caseworker):
    def make(**overrides):
        dispute = file_dispute(**overrides)
        return services.start_review(dispute, actor=Actor.caseworker(caseworker))

    return make


def forward_refused(dispute, caseworker, **kwargs) -> OutOfScope:
    with pytest.raises(OutOfScope) as raised:
        services.forward_dispute(dispute, actor=Actor.caseworker(caseworker), **kwargs)
    dispute.refresh_from_db()
    assert dispute.status == Status.UNDER_REVIEW
    assert dispute.partner_agency is None and dispute.mou is None
    return raised.value


def test_forwarding_under_a_suspended_mou_is_refused(reviewing, caseworker):
    mou = active_mou()
    change_mou_status(mou, MoU.Status.SUSPENDED)
    error = forward_refused(reviewing(), caseworker, mou=mou)
    assert error.code == "mou_not_active"


def test_forwarding_without_any_mou_for_the_merchant_country_is_refused(reviewing, caseworker):
    error = forward_refused(reviewing(merchant_country="GB", currency="GBP"), caseworker)
    assert error.code == "no_active_mou"


def test_a_claim_above_the_mou_maximum_is_out_of_scope(reviewing, caseworker):
    # 5,000 USD is about 81 million rupiah at the seeded reference rate.
    error = forward_refused(reviewing(amount=Decimal("95000000")), caseworker)
    assert error.code == "claim_above_maximum"


def test_a_category_the_mou_does_not_cover_is_out_of_scope(reviewing, caseworker):
    mou = active_mou()
    mou.categories.set(Category.objects.filter(code="electronics"))
    error = forward_refused(reviewing(category="travel"), caseworker)
    assert error.code == "category_not_covered"
    assert "category_not_covered" in error.details["problems"]


def test_a_claim_in_a_currency_without_a_reference_rate_cannot_be_checked(reviewing, caseworker):
    error = forward_refused(reviewing(currency="JPY"), caseworker)
    assert error.code == "no_exchange_rate"


def test_a_merchant_outside_the_partners_country_cannot_go_under_that_mou(reviewing, caseworker):
    error = forward_refused(
        reviewing(merchant_country="GB", currency="GBP"), caseworker, mou=active_mou()
    )
    assert error.code == "merchant_country_not_partner"


def test_a_claim_in_scope_is_forwarded_to_the_partner_with_its_deadline(reviewing, caseworker):
    dispute = services.forward_dispute(reviewing(), actor=Actor.caseworker(caseworker))
    assert dispute.status == Status.FORWARDED
    assert dispute.partner_agency.code == "KR-KCA"
    assert dispute.acknowledge_due_on is not None
