"""Reference data is translated in the database, with English when a translation is missing."""

from __future__ import annotations

import pytest
from django.utils import translation
from modeltranslation.utils import build_localized_fieldname

from agencies.models import Category, Country
from disputes.models import Status

pytestmark = pytest.mark.django_db


def test_category_without_a_korean_name_shows_the_english_one():
    category = Category.objects.create(
        code="garden-tools",
        **{
            build_localized_fieldname("name", "en"): "Garden tools",
            build_localized_fieldname("name", "id"): "Peralatan kebun",
        },
    )
    category.refresh_from_db()
    with translation.override("id"):
        assert category.name == "Peralatan kebun"
    with translation.override("ko"):
        assert category.name == "Garden tools"


def test_seeded_countries_have_names_in_all_three_languages(seeded):
    korea = Country.objects.get(code="KR")
    names = {}
    for language in ("en", "id", "ko"):
        with translation.override(language):
            names[language] = Country.objects.get(code="KR").name
    assert names["en"] != names["ko"] and names["id"] != names["ko"], names
    assert korea.name  # the active-language value is never empty


def test_statuses_are_translated_labels():
    with translation.override("ko"):
        korean = str(Status.SUBMITTED.label)
    with translation.override("id"):
        indonesian = str(Status.SUBMITTED.label)
    assert korean != "Submitted" and indonesian != "Submitted"
    assert korean != indonesian
