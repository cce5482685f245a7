"""Extraction without GNU gettext gives the msgids Django looks up at run time, and merging
keeps the translators' work."""

from __future__ import annotations

import textwrap

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.utils import translation

from odr import i18n

TEMPLATE = textwrap.dedent(
    """\
    {% load i18n %}
    <h1>{% translate "Your disputes" %}</h1>
    <p>{% translate "Rate: 100%" %}</p>
    {% blocktranslate with name=user.name %}Hello {{ name }}, welcome back.{% endblocktranslate %}
    {% blocktranslate count counter=total %}{{ counter }} dispute{% plural %}{{ counter }} \
disputes{% endblocktranslate %}
    {% translate "May" context "month name" %}
    {% blocktranslate trimmed %}
      Your dispute
      was received.
    {% endblocktranslate %}
    {# Translators: a button that sends the form #}
    <button>{% translate "Send" %}</button>
    """
)
PYTHON = textwrap.dedent(
    """\
    from django.utils.translation import gettext_lazy as _, ngettext, pgettext_lazy

    LABEL = _("Amount paid")
    COUNT = ngettext("%(count)s file", "%(count)s files", 2)
    MONTH = pgettext_lazy("month name", "May")
    NOT_A_LITERAL = _(LABEL)
    """
)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "app" / "templates" / "app").mkdir(parents=True)
    (tmp_path / "app" / "templates" / "app" / "page.html").write_text(TEMPLATE)
    (tmp_path / "app" / "forms.py").write_text(PYTHON)
    # Never scanned: the virtualenv and the tests.
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "lib.py").write_text('_("From a dependency")\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text('_("From a test")\n')
    return tmp_path


def _ids(catalogue):
    return {(message.context, message.id) for message in catalogue if message.id}


def test_extracts_templates_and_python_like_makemessages(project):
    ids = _ids(i18n.extract_all(project))
    assert ids == {
        (None, "Your disputes"),
        (None, "Rate: 100%%"),
        (None, "Hello %(name)s, welcome back."),
        (None, ("%(counter)s dispute", "%(counter)s disputes")),
        ("month name", "May"),
        (None, "Your dispute was received."),
        (None, "Send"),
        (None, "Amount paid"),
        (None, ("%(count)s file", "%(count)s files")),
    }
    send = i18n.extract_all(project).get("Send")
    assert send.auto_comments == ["Translators: a button that sends the form"]


def test_merge_keeps_translations_marks_obsolete_and_fills_english(project, tmp_path):
    locale_dir = tmp_path / "locale"
    i18n.merge(i18n.extract_all(project), "id", locale_dir)
    i18n.merge(i18n.extract_all(project), "en", locale_dir)
    i18n.apply({"id": {"Send": "Kirim", "Amount paid": "Jumlah yang dibayar"}}, locale_dir)

    page = project / "app" / "templates" / "app" / "page.html"
    page.write_text(page.read_text().replace('{% translate "Your disputes" %}', ""))
    report = i18n.merge(i18n.extract_all(project), "id", locale_dir)

    catalogue = i18n._read(locale_dir / "id" / "LC_MESSAGES" / "django.po", "id")
    assert catalogue.get("Send").string == "Kirim"
    assert catalogue.get("Amount paid").string == "Jumlah yang dibayar"
    assert catalogue.get("Your disputes") is None
    assert "Your disputes" in catalogue.obsolete
    assert report.obsolete == 1
    english = i18n._read(locale_dir / "en" / "LC_MESSAGES" / "django.po", "en")
    assert english.get("Send").string == "Send"
    assert english.get("%(count)s file").string == ("%(count)s file", "%(count)s files")
    assert i18n.catalogue_problems(locale_dir, ["en"]) == []


def test_a_changed_string_becomes_fuzzy_and_fails_the_check(project, tmp_path):
    locale_dir = tmp_path / "locale"
    i18n.merge(i18n.extract_all(project), "id", locale_dir)
    i18n.apply({"id": {"Your disputes": "Sengketa Anda"}}, locale_dir)
    page = project / "app" / "templates" / "app" / "page.html"
    page.write_text(page.read_text().replace("Your disputes", "Your open disputes"))
    report = i18n.merge(i18n.extract_all(project), "id", locale_dir)
    assert report.fuzzy == 1
    assert "fuzzy: id/LC_MESSAGES/django.po: 'Your open disputes'" in i18n.catalogue_problems(
        locale_dir, ["id"]
    )
    todo = i18n.todo(locale_dir, ["id"])
    assert todo["id"]["Your open disputes"] == {
        "suggestion": "Sengketa Anda",
        "was": "Your disputes",
    }
    # Handing the todo file back unchanged confirms nothing: a person must write the text.
    assert i18n.apply(todo, locale_dir) == 0
    fuzzy = "fuzzy: id/LC_MESSAGES/django.po: 'Your open disputes'"
    assert fuzzy in i18n.catalogue_problems(locale_dir, ["id"])
    i18n.apply({"id": {"Your open disputes": "Sengketa Anda yang masih berjalan"}}, locale_dir)
    assert fuzzy not in i18n.catalogue_problems(locale_dir, ["id"])
    catalogue = i18n._read(locale_dir / "id" / "LC_MESSAGES" / "django.po", "id")
    assert catalogue.get("Your open disputes").string == "Sengketa Anda yang masih berjalan"


def test_extracted_ids_are_what_django_looks_up(project, tmp_path):
    """Translate the extracted ids, compile, and render the template under that language."""
    locale_dir = tmp_path / "locale"
    i18n.merge(i18n.extract_all(project), "id", locale_dir)
    i18n.apply(
        {
            "id": {
                "Your disputes": "Sengketa Anda",
                "Rate: 100%%": "Tarif: 100%%",
                "Hello %(name)s, welcome back.": "Halo %(name)s, selamat datang kembali.",
                "%(counter)s dispute": {"forms": ["%(counter)s sengketa"]},
                "month name\x04May": "Mei",
                "Your dispute was received.": "Sengketa Anda telah diterima.",
            }
        },
        locale_dir,
    )
    assert i18n.compile_all(locale_dir) == 1
    with override_settings(LOCALE_PATHS=[locale_dir]), translation.override("id"):
        html = Template(TEMPLATE).render(Context({"user": {"name": "Budi"}, "total": 3}))
    assert "Sengketa Anda" in html
    assert "Tarif: 100%" in html
    assert "Halo Budi, selamat datang kembali." in html
    assert "3 sengketa" in html
    assert "Mei" in html
    assert "Sengketa Anda telah diterima." in html


def test_english_filled_first_never_leaks_into_other_languages(project, tmp_path):
    """The command merges languages in sorted order, so English ("en") comes before "id"."""
    locale_dir = tmp_path / "locale"
    i18n.extract(["en", "id"], locale_dir, project)
    indonesian = i18n._read(locale_dir / "id" / "LC_MESSAGES" / "django.po", "id")
    assert indonesian.get("Send").string == ""
    assert any("untranslated" in problem for problem in i18n.catalogue_problems(locale_dir, ["id"]))
