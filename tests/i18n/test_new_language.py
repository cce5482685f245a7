"""docs/languages.md's steps for a new language, done for Malay in a throwaway locale directory."""

from __future__ import annotations

import shutil

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from odr import i18n
from odr.l10n import format_money

pytestmark = pytest.mark.django_db


def test_adding_malay_in_an_afternoon(tmp_path, client, seeded):
    # Step: start from the project's catalogues and create one for the new language.
    locale_dir = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale_dir, ignore=shutil.ignore_patterns("*.mo"))
    report = i18n.merge(i18n.extract_all(), "ms", locale_dir)
    assert report.untranslated == report.new > 100

    # Step: translate (here only two strings) and see what is still missing.
    i18n.apply(
        {"ms": {"Skip to content": "Langkau ke kandungan", "Language": "Bahasa"}}, locale_dir
    )
    missing = i18n.todo(locale_dir, ["ms"])["ms"]
    assert "Skip to content" not in missing and "Sign in" in missing
    assert any("untranslated: ms/" in line for line in i18n.catalogue_problems(locale_dir, ["ms"]))

    # Step: compile, add the language to LANGUAGES, and a visitor whose browser asks for Malay
    # gets it.
    assert i18n.compile_all(locale_dir) == 4
    languages = [*settings.LANGUAGES, ("ms", "Malay")]
    with override_settings(LANGUAGES=languages, LOCALE_PATHS=[locale_dir]):
        response = client.get(reverse("casework:login"), HTTP_ACCEPT_LANGUAGE="ms-MY,ms;q=0.9")
        html = response.content.decode()
    assert '<html lang="ms"' in html
    assert "Langkau ke kandungan" in html
    assert '<option value="ms" lang="ms" selected>Bahasa Melayu</option>' in html

    # Money follows Malaysian conventions once BABEL_LOCALES knows ms (ms -> ms_MY).
    assert format_money(1250000, "IDR", "ms") == "IDR\u00a01,250,000"
