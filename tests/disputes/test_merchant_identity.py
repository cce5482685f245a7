"""Which merchant a dispute is against, as the merchant watch groups them: one key per web
shop however the consumer wrote its address, one per shop on a marketplace."""

from __future__ import annotations

import pytest

from disputes.services import dispute_merchant_key


@pytest.mark.parametrize(
    "website",
    [
        "https://seoulgadget.example.kr",
        "http://www.SeoulGadget.example.kr/products/123?ref=ad",
        "seoulgadget.example.kr/",
        "  WWW.seoulgadget.example.kr:443  ",
    ],
)
def test_one_web_shop_however_its_address_is_written(website):
    assert dispute_merchant_key(website) == "web:seoulgadget.example.kr"


def test_two_shops_on_one_marketplace_are_two_merchants():
    first = dispute_merchant_key("https://www.tokopedia.com/gadgetmurah/headphone-x1")
    second = dispute_merchant_key("tokopedia.com/batikjaya")
    assert first == "shop:tokopedia:gadgetmurah"
    assert second == "shop:tokopedia:batikjaya"


def test_the_marketplace_itself_when_the_address_names_no_shop():
    assert dispute_merchant_key("https://www.tokopedia.com/") == "web:tokopedia.com"


def test_an_address_that_is_not_one_leaves_the_dispute_ungrouped():
    assert dispute_merchant_key("") == ""
    assert dispute_merchant_key("the shop on Instagram") == ""


def test_an_internationalised_domain_is_grouped_by_its_ascii_form():
    assert dispute_merchant_key("https://한국상점.kr/item") == "web:xn--3e0bo08ankf7yo.kr"
