"""The merchant watch in a real Chromium against a live server: a caseworker sees a repeat
merchant flagged on the queue, opens its page and prepares an enforcement referral; a supervisor
approves it, downloads the PDF (rendered to PNG with pdftoppm, to look at) and the cases show it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from disputes.models import Dispute, Status
from tests.factories import CaseworkerFactory, SupervisorFactory, file_dispute
from tests.pdf import first_page_png, pdf_text
from tests.staff import browser_sign_in

PASSWORD = "correct horse battery staple"
SHOP = "https://www.seoulgadget.example.kr/headphones"


@pytest.fixture
def watch(transactional_db, seeded, settings):
    """Data committed for the live server's thread to see."""
    settings.ODR_REPEAT_MERCHANT_THRESHOLD = 3
    cases = [file_dispute(merchant_website=SHOP) for _ in range(4)]
    file_dispute(merchant_website="https://batik.example.id", merchant_name="Batik Jaya")
    Dispute.objects.filter(pk=cases[0].pk).update(
        status=Status.SETTLED,
        settlement_amount=Decimal("1250000"),
        settlement_currency="IDR",
        outcome_summary="Dana dikembalikan penuh.",
    )
    return {
        "cases": cases,
        "siti": CaseworkerFactory(first_name="Siti", last_name="Rahma"),
        "ratna": SupervisorFactory(first_name="Ratna", last_name="Wijaya"),
    }


def test_a_repeat_merchant_is_referred_for_enforcement(
    page, live_server, watch, screenshot, tmp_path
):
    cases = watch["cases"]
    browser_sign_in(page, live_server, watch["siti"], PASSWORD)

    # The queue flags the shop on each of its rows; the other merchant is not flagged.
    flags = page.get_by_test_id("repeat-merchant")
    assert flags.count() == 4
    assert flags.first.inner_text() == "Repeat merchant"
    assert page.locator("tr", has_text="Batik Jaya").get_by_test_id("repeat-merchant").count() == 0
    screenshot(page, "queue-flags")

    with page.expect_navigation():
        flags.first.click()
    summary = page.get_by_test_id("merchant-summary").inner_text().replace("\xa0", " ")
    assert "Seoul Gadget Store" in page.locator("h1").inner_text()
    assert "Disputes\n4" in summary and "Open\n3" in summary
    assert "IDR 5,000,000" in summary and "IDR 1,250,000" in summary  # paid, recovered
    for case in cases:
        assert case.reference in page.get_by_test_id("merchant-cases").inner_text()
    screenshot(page, "merchant-page")

    page.get_by_text("Prepare an enforcement referral").click()
    page.get_by_label("Addressed to").select_option(
        label="Ministry of Communication and Digital Affairs (Komdigi)"
    )
    page.get_by_label("Recommendation").fill(
        "Empat konsumen membayar dan tidak menerima barang. Mohon blokir akses ke situs ini."
    )
    # The period runs from the merchant's first case to today unless narrowed.
    assert (
        page.get_by_label("Cases filed from").input_value() == cases[0].filed_at.date().isoformat()
    )
    screenshot(page, "referral-form")
    with page.expect_navigation():
        page.get_by_role("button", name="Prepare the referral").click()
    assert page.get_by_test_id("referral-state").inner_text() == "Draft, waiting for a supervisor"
    assert "Waiting for another supervisor's approval." in page.content()
    number = page.locator("h1").inner_text().rsplit(" ", 1)[1]
    screenshot(page, "referral-draft")

    browser_sign_in(page, live_server, watch["ratna"], PASSWORD)
    page.get_by_role("link", name="Merchants").click()
    with page.expect_navigation():
        page.get_by_role("link", name=number).click()
    with page.expect_navigation():
        page.get_by_role("button", name="Approve the referral").click()
    assert page.get_by_test_id("referral-state").inner_text() == "Approved"
    screenshot(page, "referral-approved")

    with page.expect_download() as download:
        page.get_by_test_id("referral-pdf").click()
    pdf = tmp_path / f"{number}.pdf"
    download.value.save_as(pdf)
    text = pdf_text(pdf)
    assert "Rujukan penegakan" in text and number in text
    assert "Kementerian Komunikasi dan Digital (Komdigi)" in text
    assert all(case.reference in text for case in cases)
    assert "Rp 5.000.000" in text and "Rp 1.250.000" in text
    assert "Dewi Lestari" not in text
    picture = first_page_png(pdf, "test_a_repeat_merchant_is_referred_for_enforcement-pdf")
    assert picture.stat().st_size > 20_000

    # Each case's timeline records the referral, for its caseworkers (not for the consumer).
    page.goto(f"{live_server.url}/casework/disputes/{cases[2].reference}/")
    timeline = page.locator("#timeline").inner_text()
    assert "Enforcement referral" in timeline and "Komdigi" in timeline
    screenshot(page, "case-timeline")
