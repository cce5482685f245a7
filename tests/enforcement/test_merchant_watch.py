"""The merchant watch: an agency's disputes grouped by merchant, counted per agency only, and
repeat merchants flagged on the queue from the threshold setting."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from agencies.models import Agency
from casework import services as casework_services
from disputes import merchant_watch
from disputes.models import Dispute, Status
from tests.factories import CaseworkerFactory, SupervisorFactory, file_dispute
from tests.staff import login

SHOP = "https://seoulgadget.example.kr"
KEY = "web:seoulgadget.example.kr"


@pytest.fixture
def bpkn(seeded):
    return seeded["ID-BPKN"]


def against_the_shop(count: int, **fields) -> list[Dispute]:
    return [file_dispute(merchant_website=SHOP, **fields) for _ in range(count)]


def test_a_merchant_is_counted_from_the_agencys_own_disputes_only(bpkn, settings):
    against_the_shop(2)
    # KCA's consumer against the same shop, filed at KCA on this (shared) node: not BPKN's.
    file_dispute(
        merchant_website="www.seoulgadget.example.kr/p/1", home="KR-KCA", merchant_country="GB"
    )
    record = merchant_watch.merchant_record(bpkn, KEY)
    assert record.disputes == 2
    kca = Agency.objects.get(code="KR-KCA")
    assert merchant_watch.merchant_record(kca, KEY).disputes == 1


def test_the_merchant_record_counts_outcomes_amounts_and_partners(bpkn):
    settled, forwarded, in_won, _submitted = against_the_shop(4)
    Dispute.objects.filter(pk=settled.pk).update(
        status=Status.SETTLED, settlement_amount=Decimal("1000000"), settlement_currency="IDR"
    )
    Dispute.objects.filter(pk=forwarded.pk).update(
        status=Status.FORWARDED, partner_agency=Agency.objects.get(code="KR-KCA")
    )
    Dispute.objects.filter(pk=in_won.pk).update(amount=Decimal("85000"), currency="KRW")

    record = merchant_watch.merchant_record(bpkn, KEY)
    assert record.name == "Seoul Gadget Store"
    assert (record.disputes, record.open, record.resolved) == (4, 3, 1)
    assert {row["currency"]: row["amount"] for row in record.claimed} == {
        "IDR": Decimal("3750000"),
        "KRW": Decimal("85000"),
    }
    assert record.recovered == [{"currency": "IDR", "disputes": 1, "amount": Decimal("1000000")}]
    assert [(row["agency"].code, row["disputes"]) for row in record.partners] == [("KR-KCA", 1)]


def queue_of(client):
    response = client.get(reverse("casework:queue"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_queue_flags_a_repeat_merchant_from_the_threshold(client, bpkn, settings):
    settings.ODR_REPEAT_MERCHANT_THRESHOLD = 3
    settings.ODR_REPEAT_MERCHANT_WINDOW_DAYS = 365
    login(client, SupervisorFactory())
    against_the_shop(2)
    file_dispute(merchant_website="https://other-shop.example.kr")
    # Filed over a year ago: outside the window, it does not make the shop a repeat merchant.
    long_ago = against_the_shop(1)[0]
    Dispute.objects.filter(pk=long_ago.pk).update(filed_at=timezone.now() - dt.timedelta(days=400))
    assert 'data-testid="repeat-merchant"' not in queue_of(client)

    against_the_shop(1)
    page = queue_of(client)
    # Each of its rows is flagged, the old one too; the other shop's row is not.
    assert page.count('data-testid="repeat-merchant"') == 4
    assert page.count(reverse("enforcement:merchant", args=[KEY])) == 4


def test_the_merchant_page_lists_every_case_but_opens_only_the_readers_own(client, bpkn):
    owned_by_colleague, unassigned = against_the_shop(2)
    supervisor, colleague, reader = SupervisorFactory(), CaseworkerFactory(), CaseworkerFactory()
    casework_services.assign_dispute(owned_by_colleague, colleague, by=supervisor, agency=bpkn)
    login(client, reader)

    response = client.get(reverse("enforcement:merchant", args=[KEY]))

    assert response.status_code == 200
    page = response.content.decode()
    assert owned_by_colleague.reference in page and unassigned.reference in page
    assert reverse("casework:detail", args=[unassigned.reference]) in page
    assert reverse("casework:detail", args=[owned_by_colleague.reference]) not in page
    # Counts, amounts and outcomes: no consumer's name or contact on the merchant's page.
    assert "Dewi Lestari" not in page and "dewi@example.id" not in page
    assert "Seoul Gadget Store" in page


def test_the_merchants_page_lists_repeat_merchants_and_searches_them(client, bpkn, settings):
    settings.ODR_REPEAT_MERCHANT_THRESHOLD = 2
    against_the_shop(2)
    file_dispute(merchant_website="https://batik.example.id", merchant_name="Batik Jaya")
    login(client, CaseworkerFactory())

    listed = client.get(reverse("enforcement:merchants")).content.decode()
    assert "Seoul Gadget Store" in listed and "Batik Jaya" not in listed  # one dispute only
    found = client.get(reverse("enforcement:merchants"), {"q": "seoulgadget"}).content.decode()
    assert "Seoul Gadget Store" in found
    missed = client.get(reverse("enforcement:merchants"), {"q": "nothing-like-it"})
    assert "Seoul Gadget Store" not in missed.content.decode()


def test_a_merchant_the_agency_has_no_dispute_against_is_not_found(client, bpkn):
    file_dispute(merchant_website=SHOP, home="KR-KCA", merchant_country="GB")
    login(client, SupervisorFactory())
    assert client.get(reverse("enforcement:merchant", args=[KEY])).status_code == 404
    assert (
        client.get(reverse("enforcement:merchant", args=["web:nowhere.example"])).status_code == 404
    )


def test_disputes_filed_before_the_watch_are_grouped_by_the_migration(bpkn):
    filed = against_the_shop(2)
    Dispute.objects.update(merchant_key="")
    migration = importlib.import_module("disputes.migrations.0004_merchant_watch")

    migration.group_existing_disputes(apps, None)

    assert set(Dispute.objects.values_list("merchant_key", flat=True)) == {KEY}
    assert merchant_watch.merchant_record(bpkn, KEY).disputes == len(filed)
