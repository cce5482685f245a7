"""A caseworker in a real Chromium against a live server: sign in, find, forward, write; and the
queue in English, Indonesian and Korean through the language switcher."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import gettext

from disputes import services
from disputes.models import Dispute
from tests.factories import CaseworkerFactory, file_dispute

PASSWORD = "correct horse battery staple"


@pytest.fixture
def world(transactional_db, seeded):
    """Data committed for the live server's thread to see."""
    caseworker = CaseworkerFactory()
    actor = services.Actor.caseworker(caseworker)
    ready = services.start_review(
        file_dispute(merchant_name="Seoul Gadget Store", consumer_name="Dewi Lestari"), actor=actor
    )
    other = file_dispute(
        merchant_name="Busan Beauty",
        merchant_website="https://busan-beauty.example.kr",
        consumer_name="Budi Santoso",
    )
    return {"caseworker": caseworker, "ready": ready, "other": other}


def sign_in(page, live_server, caseworker):
    page.goto(f"{live_server.url}/casework/")
    assert "/casework/login/" in page.url
    page.get_by_label("Username").fill(caseworker.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/casework/")


def test_a_caseworker_finds_forwards_and_writes(page, live_server, world, screenshot):
    dispute = world["ready"]
    sign_in(page, live_server, world["caseworker"])
    page.get_by_label("Search").fill("gadget")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    rows = page.locator(".queue-table tbody tr")
    assert rows.count() == 1
    assert "Busan Beauty" not in page.content()
    screenshot(page, "queue-search")
    page.get_by_role("link", name=dispute.reference).click()
    page.wait_for_url(f"**/casework/disputes/{dispute.reference}/")
    assert page.locator("#forwarding-check").inner_text().startswith("It can be forwarded to")
    # The page reloads at the same address: wait for the navigation, not for the URL.
    with page.expect_navigation():
        page.get_by_role("button", name="Forward to the partner agency").click()
    assert "Forwarded to partner agency" in page.locator(".dispute-status").inner_text()
    assert Dispute.objects.get(pk=dispute.pk).status == "forwarded"

    page.locator("#message-form").get_by_role("textbox", name="Message").fill(
        "Kami sudah meneruskan kasus Anda ke KCA."
    )
    page.locator("#message-form").get_by_label("Written in").select_option("id")
    with page.expect_navigation():
        page.get_by_role("button", name="Post the message").click()
    assert page.url.endswith(f"/casework/disputes/{dispute.reference}/#messages")
    message = page.locator("article.message").first
    assert "Kami sudah meneruskan kasus Anda ke KCA." in message.inner_text()
    assert message.locator("blockquote").get_attribute("lang") == "id"
    assert "Sent to KR-KCA" in page.locator("#packets").inner_text()
    screenshot(page, "detail-after-forward")
    assert Dispute.objects.get(pk=dispute.pk).messages.get().language == "id"
    page.set_viewport_size({"width": 360, "height": 800})
    assert no_sideways_scrolling(page)
    screenshot(page, "detail-360")


def no_sideways_scrolling(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.mark.parametrize(
    ("language", "country", "amount"),
    [
        ("en", "Republic of Korea", "IDR 1,250,000"),
        ("id", "Korea Selatan", "Rp 1.250.000"),
        ("ko", "대한민국", "IDR 1,250,000"),
    ],
    ids=["en", "id", "ko"],
)
def test_the_queue_in_each_language(
    page, live_server, world, screenshot, language, country, amount
):
    sign_in(page, live_server, world["caseworker"])
    page.locator("#language-select").select_option(language)
    with page.expect_navigation():
        page.locator(".language-switcher button").click()
    page.wait_for_function(f"document.documentElement.lang === '{language}'")
    with translation.override(language):
        heading = gettext("Dispute queue")
    assert page.locator("h1").inner_text() == heading
    first_row = page.locator(".queue-table tbody tr").first
    row_text = first_row.inner_text().replace("\xa0", " ")
    assert country in row_text
    assert amount in row_text
    screenshot(page, f"queue-{language}")
    page.set_viewport_size({"width": 360, "height": 800})
    # On a phone the table turns into labelled blocks: nothing may stick out sideways.
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    wide = page.evaluate(
        """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right >
        document.documentElement.clientWidth).map(e => e.tagName + '.' + e.className + ' ' +
        e.getBoundingClientRect().right)"""
    )
    assert overflow <= 0, wide
    screenshot(page, f"queue-{language}-360")
