"""The filing form and the caseworker queue in a real Chromium, in Indonesian, Korean and English:
the language the visitor asks for is the language they get, with nothing left in English."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django.utils.translation import gettext

from odr import i18n
from tests.factories import CaseworkerFactory, file_dispute

pytestmark = pytest.mark.browser

BROWSER_LOCALES = {"en": "en-GB", "id": "id-ID", "ko": "ko-KR"}
PASSWORD = "correct horse battery staple"
# Read the page as a person does, minus what is the same in every language by design: the
# language names in the switcher (each in its own language) and the disputes' own data.
VISIBLE_TEXT = """() => {
  const hidden = [...document.querySelectorAll('#language-select, tbody')];
  hidden.forEach(e => e.style.display = 'none');
  const text = document.body.innerText;
  hidden.forEach(e => e.style.display = '');
  return text;
}"""
# Names written the same in several languages: the agency's short name, each language's own
# name (the switcher, the choice of language for emails) and Indonesia, the same in English.
SAME_IN_EVERY_LANGUAGE = {"BPKN", "English", "Bahasa Indonesia", "한국어", "Indonesia"}


def same_on_purpose(language: str) -> set[str]:
    """Messages whose translation is deliberately the English word (id: "Status", "Platform")."""
    catalogue = i18n._read(i18n.LOCALE_DIR / language / "LC_MESSAGES" / "django.po", language)
    return {m.id for m in catalogue if isinstance(m.id, str) and m.id == m.string}


def english_left(pages: dict[str, set[str]], language: str) -> set[str]:
    return pages[language] & pages["en"] - same_on_purpose(language)


def visible_lines(page) -> set[str]:
    lines = {" ".join(line.split()) for line in page.evaluate(VISIBLE_TEXT).splitlines()}
    return {line for line in lines if re.search(r"[^\W\d_]", line)} - SAME_IN_EVERY_LANGUAGE


def too_wide(page) -> list[str]:
    """Elements sticking out past the right edge of the screen (sideways scrolling)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
          .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""
    )


@pytest.fixture
def visit(chromium):
    """Open a page in a fresh browser whose language preference is `language`, phone-sized."""
    contexts = []

    def open_page(url: str, language: str):
        context = chromium.new_context(
            viewport={"width": 360, "height": 800}, locale=BROWSER_LOCALES[language]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(url)
        return page

    yield open_page
    for context in contexts:
        context.close()


def test_the_filing_form_in_each_language(live_server, transactional_db, seeded, visit, screenshot):
    pages = {}
    for language in ("en", "id", "ko"):
        page = visit(f"{live_server.url}/file/", language)
        assert page.evaluate("document.documentElement.lang") == language
        with translation.override(language):
            skip_link = gettext("Skip to content")
            name_label = gettext("Your full name")
        assert page.locator(".skip-link").inner_text() == skip_link
        assert page.get_by_label(name_label).count() == 1
        screenshot(page, f"filing-{language}")
        assert too_wide(page) == [], language
        pages[language] = visible_lines(page)
    assert "Your full name" in " ".join(pages["en"])
    for language in ("id", "ko"):
        assert english_left(pages, language) == set(), language


def test_the_caseworker_queue_in_each_language(
    live_server, transactional_db, seeded, visit, screenshot
):
    caseworker = CaseworkerFactory()
    file_dispute(merchant_name="Seoul Gadget Store", consumer_name="Dewi Lestari")
    pages = {}
    for language in ("en", "id", "ko"):
        page = visit(f"{live_server.url}/casework/", language)
        with translation.override(language):
            page.get_by_label(gettext("Username")).fill(caseworker.username)
            page.get_by_label(gettext("Password")).fill(PASSWORD)
            with page.expect_navigation():
                page.get_by_role("button", name=gettext("Sign in")).click()
            assert page.locator("h1").inner_text() == gettext("Dispute queue")
        assert page.evaluate("document.documentElement.lang") == language
        assert "Seoul Gadget Store" in page.locator("tbody").inner_text()
        screenshot(page, f"queue-{language}")
        assert too_wide(page) == [], language
        pages[language] = visible_lines(page)
    for language in ("id", "ko"):
        assert english_left(pages, language) == set(), language


def test_the_not_found_page_in_each_language(
    live_server, transactional_db, seeded, visit, screenshot
):
    pages = {}
    for language in ("en", "id", "ko"):
        page = visit(f"{live_server.url}/no-such-page/", language)
        with translation.override(language):
            heading = gettext("Page not found")
        assert page.get_by_role("heading", level=1).inner_text() == heading
        assert page.get_by_role("link", name=gettext_in(language, "Find my dispute")).count() == 1
        screenshot(page, f"not-found-{language}")
        assert too_wide(page) == [], language
        pages[language] = visible_lines(page)
    for language in ("id", "ko"):
        assert english_left(pages, language) == set(), language


def gettext_in(language: str, message: str) -> str:
    with translation.override(language):
        return gettext(message)
