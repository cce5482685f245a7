"""Catalogues: extraction from the sources, merging, compiling, and translations as JSON."""

from __future__ import annotations

import ast
import copy
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

BASE_DIR = Path(__file__).resolve().parent.parent.parent
LOCALE_DIR = BASE_DIR / "locale"
REQUIRED_LANGUAGES = ("id", "ko", "en")
# English msgids are already English: its catalogue is filled with msgstr = msgid.
SOURCE_LANGUAGE = "en"
DOMAIN = "django"

# Directories that hold no user-facing project strings (or not ours).
SKIP_DIRS = {
    ".venv",
    ".git",
    "node_modules",
    "var",
    "tests",
    "bench",
    "locale",
    "docs",
    "static",
    "test-artifacts",
    "migrations",
    "__pycache__",
    ".ruff_cache",
    ".pytest_cache",
}
TEMPLATE_SUFFIXES = {".html", ".txt", ".xml"}

# Same keywords as Django's makemessages passes to xgettext.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
COMMENT_TAGS = ["Translators"]


# --------------------------------------------------------------------------------------------
# Extraction


@dataclass(frozen=True)
class Extracted:
    message_id: str | tuple[str, str]
    context: str | None
    path: str
    lineno: int
    comments: tuple[str, ...]


def source_files(base_dir: Path = BASE_DIR) -> Iterator[Path]:
    """Project Python files and templates, in a stable order."""
    for root, dirs, files in os.walk(base_dir):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            in_templates = "templates" in path.relative_to(base_dir).parts
            if path.suffix == ".py" or (path.suffix in TEMPLATE_SUFFIXES and in_templates):
                yield path


def _messages_from_python_text(text: str) -> Iterator[tuple[int, object, str | None, list]]:
    options = {"encoding": "utf-8"}
    fileobj = io.BytesIO(text.encode("utf-8"))
    for lineno, funcname, messages, comments in extract_python(
        fileobj, KEYWORDS.keys(), COMMENT_TAGS, options
    ):
        spec = KEYWORDS[funcname] or (1,)
        if not isinstance(messages, (list, tuple)):
            messages = [messages]
        context = None
        strings = []
        for index in spec:
            if isinstance(index, tuple):
                context = messages[index[0] - 1] if len(messages) >= index[0] else None
                continue
            strings.append(messages[index - 1] if len(messages) >= index else None)
        if not strings or any(not isinstance(value, str) for value in strings):
            # A call with a variable, not a literal: nothing to extract.
            continue
        if not strings[0]:
            continue
        message_id = strings[0] if len(strings) == 1 else (strings[0], strings[1])
        yield lineno, message_id, context, comments


def extract_file(path: Path, base_dir: Path = BASE_DIR) -> list[Extracted]:
    text = path.read_text(encoding="utf-8")
    relative = path.relative_to(base_dir).as_posix()
    if path.suffix != ".py":
        from django.utils.translation.template import templatize

        text = templatize(text, origin=relative)
    return [
        Extracted(message_id, context, relative, lineno, tuple(comments))
        for lineno, message_id, context, comments in _messages_from_python_text(text)
    ]


def extract_all(base_dir: Path = BASE_DIR, files: Iterable[Path] | None = None) -> Catalog:
    """A template catalogue (a .pot in memory) of every marked string in the sources."""
    template = Catalog(project="ODR node", charset="utf-8", fuzzy=False)
    for path in files if files is not None else source_files(base_dir):
        for item in extract_file(path, base_dir):
            template.add(
                item.message_id,
                None,
                [(item.path, item.lineno)],
                auto_comments=item.comments,
                context=item.context,
            )
    return template


HEADER_COMMENT = """\
# %(language)s translations of the ODR node (cross-border consumer dispute resolution).
# Update with `python -m odr.i18n extract`; see docs/languages.md.
#"""


def _set_header(catalogue: Catalog, language: str) -> None:
    catalogue.project = "ODR node"
    catalogue.version = "1.0"
    catalogue.copyright_holder = "The ODR project"
    catalogue.msgid_bugs_address = "i18n@odr.invalid"
    catalogue.last_translator = "ODR translators <i18n@odr.invalid>"
    catalogue.language_team = f"{language} <i18n@odr.invalid>"
    catalogue.header_comment = HEADER_COMMENT % {"language": language}


def _blank_catalogue(language: str) -> Catalog:
    catalogue = Catalog(locale=language, domain=DOMAIN, charset="utf-8", fuzzy=False)
    _set_header(catalogue, language)
    return catalogue


def _read(po_path: Path, language: str) -> Catalog:
    with po_path.open("rb") as handle:
        catalogue = read_po(handle, locale=language, domain=DOMAIN)
    for message in catalogue:
        _restore_previous_id(message)
    for message in catalogue.obsolete.values():
        _restore_previous_id(message)
    return catalogue


def _restore_previous_id(message) -> None:
    """Babel writes a fuzzy entry's old msgid as `#| msgid` but reads it back as a user comment:
    turn it back into previous_id so it is neither lost nor kept forever as a comment."""

    previous: list[list[str]] = []
    kept = []
    for comment in message.user_comments:
        text = comment.lstrip()
        if not text.startswith("|"):
            kept.append(comment)
            continue
        text = text[1:].strip()
        if text.startswith("msgid_plural "):
            previous.append([text[len("msgid_plural ") :]])
        elif text.startswith("msgid "):
            previous.append([text[len("msgid ") :]])
        elif text.startswith('"') and previous:
            previous[-1].append(text)
    message.user_comments = kept
    if message.fuzzy and previous:
        message.previous_id = ["".join(ast.literal_eval(part) for part in p) for p in previous]


def _write(po_path: Path, catalogue: Catalog) -> None:
    po_path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    # File names without line numbers keep diffs small while colleagues edit the same files.
    write_po(buffer, catalogue, width=100, include_lineno=False, include_previous=True)
    po_path.write_bytes(buffer.getvalue())


def fill_source_language(catalogue: Catalog) -> None:
    """English text is its own translation; a changed English msgid needs no review."""
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            if isinstance(message.id, tuple):
                forms = catalogue.num_plurals
                message.string = tuple(
                    message.id[0] if index == 0 else message.id[1] for index in range(forms)
                )
            else:
                message.string = message.id
            message.flags.discard("fuzzy")
            message.previous_id = []


@dataclass
class MergeReport:
    language: str
    new: int
    fuzzy: int
    obsolete: int
    untranslated: int


def merge(
    template: Catalog,
    language: str,
    locale_dir: Path = LOCALE_DIR,
    fuzzy_matching: bool = True,
) -> MergeReport:
    """Update one language's catalogue from the template, keeping every existing translation.

    Strings that vanished from the sources stay in the file as obsolete (#~) entries so their
    translation is not lost if they come back. A changed string may get the old translation as a
    *fuzzy* suggestion; `check` fails on fuzzy entries until a person confirms them.
    """
    po_path = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    catalogue = _read(po_path, language) if po_path.exists() else _blank_catalogue(language)
    before = {(m.id if not isinstance(m.id, tuple) else m.id[0], m.context) for m in catalogue}
    catalogue.update(
        template,
        no_fuzzy_matching=not fuzzy_matching,
        update_header_comment=False,
        keep_user_comments=True,
        update_creation_date=False,
    )
    if language == SOURCE_LANGUAGE:
        fill_source_language(catalogue)
    _set_header(catalogue, language)
    _write(po_path, catalogue)
    new = fuzzy = untranslated = 0
    for message in catalogue:
        if not message.id:
            continue
        key = (message.id if not isinstance(message.id, tuple) else message.id[0], message.context)
        if key not in before:
            new += 1
        if message.fuzzy:
            fuzzy += 1
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated += 1
    return MergeReport(language, new, fuzzy, len(catalogue.obsolete), untranslated)


def extract(
    languages: Iterable[str] = REQUIRED_LANGUAGES,
    locale_dir: Path = LOCALE_DIR,
    base_dir: Path = BASE_DIR,
) -> list[MergeReport]:
    template = extract_all(base_dir)
    # Each language merges its own copy: Babel's update shares the template's message objects,
    # and filling the English catalogue would otherwise leak English text into the others.
    return [merge(copy.deepcopy(template), language, locale_dir) for language in languages]


def compile_all(locale_dir: Path = LOCALE_DIR) -> int:
    count = 0
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        catalogue = _read(po_path, po_path.parts[-3])
        with po_path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalogue, use_fuzzy=False)
        count += 1
    return count


# --------------------------------------------------------------------------------------------
# A quick translation pass: export what is missing as JSON, fill it in, apply it.

CONTEXT_SEPARATOR = "\x04"  # the same key gettext uses for "context\x04message"


def _json_key(message) -> str:
    msgid = message.id[0] if isinstance(message.id, tuple) else message.id
    return f"{message.context}{CONTEXT_SEPARATOR}{msgid}" if message.context else msgid


def todo(
    locale_dir: Path = LOCALE_DIR, languages: Iterable[str] = REQUIRED_LANGUAGES
) -> dict[str, dict[str, object]]:
    """{language: {msgid: ""}} for every untranslated message, to fill in and `apply`.

    A plural message is {"plural": msgid_plural, "forms": ["", ...]}. A fuzzy message (its msgid
    changed) is {"suggestion": old translation, "was": old msgid}: `apply` ignores it until a
    person replaces it with the checked text, so a guess never slips through.
    """
    result: dict[str, dict[str, object]] = {}
    for language in languages:
        po_path = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po_path.exists():
            continue
        catalogue = _read(po_path, language)
        missing: dict[str, object] = {}
        for message in catalogue:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not (message.fuzzy or not all(strings)):
                continue
            key = _json_key(message)
            if isinstance(message.id, tuple):
                entry: object = {
                    "plural": message.id[1],
                    "forms": [""] * catalogue.num_plurals,
                }
            else:
                entry = ""
            if message.fuzzy:
                entry = {
                    **(entry if isinstance(entry, dict) else {}),
                    "suggestion": list(strings) if isinstance(message.id, tuple) else strings[0],
                    "was": message.previous_id[0] if message.previous_id else "",
                }
            missing[key] = entry
        if missing:
            result[language] = missing
    return result


def apply(translations: dict[str, dict[str, object]], locale_dir: Path = LOCALE_DIR) -> int:
    """Write translations ({language: {msgid: text or {"forms": [...]}}}) into the catalogues.

    Only messages the catalogue already has are filled (run extract first); a filled message is
    no longer fuzzy. Returns how many messages were written.
    """
    written = 0
    for language, entries in translations.items():
        po_path = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        catalogue = _read(po_path, language)
        by_key = {_json_key(message): message for message in catalogue if message.id}
        for key, value in entries.items():
            message = by_key.get(key)
            if message is None or not value:
                continue
            if isinstance(message.id, tuple):
                forms = value.get("forms") if isinstance(value, dict) else value
                if isinstance(forms, str):
                    forms = [forms]
                if not forms or not all(forms):
                    continue
                forms = list(forms)[: catalogue.num_plurals]
                forms += [forms[-1]] * (catalogue.num_plurals - len(forms))
                message.string = tuple(forms)
            else:
                if not isinstance(value, str):
                    continue
                message.string = value
            message.flags.discard("fuzzy")
            message.previous_id = []
            written += 1
        if written:
            catalogue.revision_date = datetime.now(UTC)
        _write(po_path, catalogue)
    return written
