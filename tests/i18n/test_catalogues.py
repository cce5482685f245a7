"""The shipped catalogues: complete, current, and faithful to the msgids' placeholders."""

from __future__ import annotations

import shutil

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from odr import i18n


def test_catalogues_are_complete_current_and_templates_marked():
    # The same check `make test` runs first; here it names each problem if it fails.
    assert i18n.problems() == []


def test_every_translation_keeps_the_msgids_placeholders():
    assert i18n.placeholder_problems() == []


def test_english_catalogue_is_not_empty():
    catalogue = i18n._read(i18n.LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po", "en")
    assert len([message for message in catalogue if message.id]) > 100


def _write_catalogue(locale_dir, language, entries, fuzzy=()):
    catalogue = Catalog(locale=language, fuzzy=False)
    for msgid, msgstr in entries.items():
        catalogue.add(msgid, msgstr, flags=("fuzzy",) if msgid in fuzzy else ())
    path = locale_dir / language / "LC_MESSAGES" / "django.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        write_po(handle, catalogue)
    return path


def test_placeholder_check_catches_a_dropped_or_renamed_placeholder(tmp_path):
    _write_catalogue(
        tmp_path,
        "id",
        {
            "Dispute %(reference)s was filed.": "Sengketa %(ref)s telah diajukan.",
            "Hello {name}": "Halo",
            "Page %(number)s of %(total)s": "Halaman %(number)s dari %(total)s",
        },
    )
    found = i18n.placeholder_problems(tmp_path, ["id"])
    assert len(found) == 2
    assert "%(reference)s" in found[0] and "%(ref)s" in found[0]
    assert "{name}" in found[1]


def test_catalogue_check_fails_on_untranslated_fuzzy_and_empty(tmp_path):
    _write_catalogue(tmp_path, "id", {"Sign in": "", "Search": "Cari"}, fuzzy={"Search"})
    _write_catalogue(tmp_path, "ko", {})
    found = i18n.catalogue_problems(tmp_path, ["id", "ko", "en"])
    assert "untranslated: id/LC_MESSAGES/django.po: 'Sign in'" in found
    assert "fuzzy: id/LC_MESSAGES/django.po: 'Search'" in found
    assert "ko: the catalogue is empty" in found
    assert any(line.startswith("en: no catalogue") for line in found)


def test_check_command_exits_1_when_a_catalogue_lags_behind_the_sources(tmp_path, monkeypatch):
    # A copy of the real catalogues, brought up to date, minus one message the sources mark.
    locale_dir = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale_dir)
    template = i18n.extract_all()
    for language in i18n.REQUIRED_LANGUAGES:
        i18n.merge(template, language, locale_dir)
    assert i18n.staleness_problems(template, locale_dir) == []
    po_path = locale_dir / "ko" / "LC_MESSAGES" / "django.po"
    catalogue = i18n._read(po_path, "ko")
    catalogue.delete("Skip to content")
    i18n._write(po_path, catalogue)
    found = i18n.staleness_problems(template, locale_dir, ["ko"])
    assert len(found) == 1
    assert "ko lacks 'Skip to content' (templates/base.html)" in found[0]
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale_dir)
    assert i18n.main(["odr.i18n", "check"]) == 1
