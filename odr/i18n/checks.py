"""Checks of the catalogues: untranslated or fuzzy messages, placeholders, staleness."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog

from .catalogues import (
    DOMAIN,
    LOCALE_DIR,
    REQUIRED_LANGUAGES,
    _read,
)

# --------------------------------------------------------------------------------------------
# Checks


def catalogue_problems(
    locale_dir: Path = LOCALE_DIR, languages: Iterable[str] = REQUIRED_LANGUAGES
) -> list[str]:
    """Untranslated or fuzzy messages, and empty catalogues."""
    found = []
    for language in languages:
        po_path = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po_path.exists():
            found.append(f"{language}: no catalogue (run: python -m odr.i18n extract)")
            continue
        catalogue = _read(po_path, language)
        if not any(message.id for message in catalogue):
            found.append(f"{language}: the catalogue is empty")
        for message in catalogue:
            if not message.id:
                continue
            where = f"{po_path.relative_to(locale_dir)}: {message.id!r}"
            if message.fuzzy:
                found.append(f"fuzzy: {where}")
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                found.append(f"untranslated: {where}")
    return found


PLACEHOLDER_RE = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{[^{}]*\}")


def placeholders(text: str) -> list[str]:
    return sorted(p for p in PLACEHOLDER_RE.findall(text or "") if p != "%%")


def placeholder_problems(
    locale_dir: Path = LOCALE_DIR, languages: Iterable[str] = REQUIRED_LANGUAGES
) -> list[str]:
    """Translations whose %(name)s / {name} placeholders differ from the msgid's."""
    found = []
    for language in languages:
        po_path = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po_path.exists():
            continue
        for message in _read(po_path, language):
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = placeholders(ids[0])
            allowed = set(wanted) | {p for msgid in ids for p in placeholders(msgid)}
            for string in strings:
                if not string:
                    continue
                got = placeholders(string)
                # A plural's forms may leave out the count ("one file"), never add names.
                bad = not set(got) <= allowed if isinstance(message.id, tuple) else got != wanted
                if bad:
                    found.append(
                        f"placeholders: {language}: {ids[0]!r} has {wanted}, translation {got}"
                    )
    return found


def staleness_problems(
    template: Catalog, locale_dir: Path = LOCALE_DIR, languages=REQUIRED_LANGUAGES
) -> list[str]:
    """Marked strings in the sources that a catalogue does not have (extract was not run)."""
    found = []
    for language in languages:
        po_path = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po_path.exists():
            continue
        catalogue = _read(po_path, language)
        for message in template:
            if not message.id:
                continue
            existing = catalogue.get(message.id, context=message.context)
            plural_mismatch = existing is not None and (
                isinstance(existing.id, tuple) != isinstance(message.id, tuple)
                or (isinstance(message.id, tuple) and existing.id != message.id)
            )
            if existing is None or plural_mismatch:
                where = ", ".join(sorted({path for path, _ in message.locations}))
                found.append(
                    f"out of date: {language} lacks {message.id!r} ({where}); "
                    "run: python -m odr.i18n extract"
                )
    return found
