"""Translation catalogues with Babel alone: no GNU gettext on the machine is needed.

python -m odr.i18n extract [LANG...]   # sources -> locale/<lang>/LC_MESSAGES/django.po
                                        # (merge: keeps translations; a new LANG starts one)
python -m odr.i18n compile              # locale/*/LC_MESSAGES/*.po -> .mo
python -m odr.i18n todo > todo.json     # untranslated/fuzzy entries, as JSON to fill in
python -m odr.i18n apply todo.json      # write the filled-in translations into the catalogues
python -m odr.i18n check                # exit 1 on untranslated/fuzzy messages, a catalogue
                                        # out of date with the sources, or template text not
                                        # marked for translation

Why Babel and not Django's makemessages: makemessages shells out to xgettext/msgmerge, which a
fresh CI machine or a developer laptop may not have; Babel is already a pinned Python dependency,
so `make install` gives everything. Templates are turned into Python-like text with Django's own
``templatize`` (the very function makemessages feeds to xgettext), so message ids, placeholders
(``{{ name }}`` -> ``%(name)s``), ``%`` doubling, plurals, contexts and ``trimmed`` are exactly
what Django looks up at run time.
"""

from __future__ import annotations

import ast
import copy
import io
import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

BASE_DIR = Path(__file__).resolve().parent.parent
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
    import ast

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


# --- templates: visible text not marked for translation -------------------------------------

# Text with letters that is fine untranslated: names and codes that are the same in every
# language. Anything without letters (numbers, symbols, punctuation) is always allowed.
ALLOWED_TEXT = {"ODR", "BPKN", "KCA", "UKICC", "UK ICC", "API", "OpenAPI", "JSON", "Rp", "ID"}
# Attributes whose value a person sees or hears.
VISIBLE_ATTRIBUTES = {"placeholder", "title", "alt", "aria-label", "aria-description", "label"}
BUTTON_INPUT_TYPES = {"submit", "button", "reset"}
# Element content that is code or never shown.
SKIP_CONTENT = {"script", "style", "code", "kbd", "samp", "pre", "template"}
VOID_ELEMENTS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "param",
    "source",
    "track",
    "wbr",
}
# A stand-in for template output ({{ var }}, {% translate %}, {% url %} ...): never a word.
MARK = "\ue000"
# Block tags that print something; every other block tag prints nothing.
OUTPUT_TAGS = {
    "translate",
    "trans",
    "url",
    "static",
    "csrf_token",
    "include",
    "now",
    "firstof",
    "cycle",
    "widthratio",
    "lorem",
    "templatetag",
    "get_media_prefix",
    "get_static_prefix",
    "querystring",
}
# {% block %}s whose content is markup, a class name, a URL or code, never visible text.
NON_TEXT_BLOCKS = {"body_class", "home_url", "head", "scripts", "extrahead", "extrastyle"}
VISIBLE_FILTERS_RE = re.compile(r"""\|\s*(default|default_if_none|yesno)\s*:\s*("[^"]*"|'[^']*')""")


def has_words(text: str) -> bool:
    text = text.replace(MARK, " ").strip()
    if not text or text in ALLOWED_TEXT:
        return False
    return any(unicodedata.category(char).startswith("L") for char in text)


@dataclass
class Unmarked:
    path: str
    lineno: int
    text: str
    kind: str = "template text"

    def __str__(self) -> str:
        return f"unmarked {self.kind}: {self.path}:{self.lineno}: {self.text!r}"


def _skeleton(source: str) -> tuple[str, list[tuple[int, str]]]:
    """The template with Django syntax replaced: marked text and output become MARK.

    Returns the skeleton (line breaks kept, so line numbers stay right) and unmarked literal
    strings found inside {{ }} (e.g. ``|default:"None"``) with their line numbers.
    """
    from django.template.base import Lexer, TokenType

    out: list[str] = []
    literals: list[tuple[int, str]] = []
    skipping_until: str | None = None
    block_depth = 0
    for token in Lexer(source).tokenize():
        raw_lines = token.contents.count("\n")
        if skipping_until == "endblock":
            # Inside a non-text block: find its own endblock, past any nested blocks.
            name = (token.contents.split() or [""])[0]
            if token.token_type == TokenType.BLOCK and name == "block":
                block_depth += 1
            elif token.token_type == TokenType.BLOCK and name == "endblock":
                block_depth -= 1
                if block_depth == 0:
                    skipping_until = None
            out.append("\n" * raw_lines)
            continue
        if skipping_until:
            if token.token_type == TokenType.BLOCK and token.contents.split()[:1] == [
                skipping_until
            ]:
                skipping_until = None
                out.append(MARK)
            out.append("\n" * raw_lines)
            continue
        if token.token_type == TokenType.TEXT:
            out.append(token.contents)
        elif token.token_type == TokenType.VAR:
            for match in VISIBLE_FILTERS_RE.finditer(token.contents):
                literal = match.group(2)[1:-1]
                if match.group(1) == "yesno":
                    literal = literal.replace(",", " ")
                if has_words(literal):
                    literals.append((token.lineno, literal))
            out.append(MARK + "\n" * raw_lines)
        elif token.token_type == TokenType.BLOCK:
            name = (token.contents.split() or [""])[0]
            if name in {"blocktranslate", "blocktrans"}:
                skipping_until = "end" + name
            elif name == "comment":
                skipping_until = "endcomment"
            elif name == "verbatim":
                skipping_until = "endverbatim"
            elif (
                name == "block"
                and token.contents.split()[1:2]
                and (token.contents.split()[1] in NON_TEXT_BLOCKS)
            ):
                skipping_until = "endblock"
                block_depth = 1
            elif name in OUTPUT_TAGS:
                out.append(MARK)
            out.append("\n" * raw_lines)
        else:  # {# comment #}
            out.append("\n" * raw_lines)
    return "".join(out), literals


class _VisibleTextParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self.stack: list[tuple[str, bool]] = []

    @property
    def skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        skip = tag in SKIP_CONTENT or attributes.get("translate") == "no"
        if not skip and not self.skipping:
            lineno = self.getpos()[0]
            for name, value in attrs:
                # A <button>'s value is sent, not shown; an input button shows its value.
                visible = name in VISIBLE_ATTRIBUTES or (
                    name == "value"
                    and tag == "input"
                    and (attributes.get("type") or "").lower() in BUTTON_INPUT_TYPES
                )
                if visible and value and has_words(value):
                    self.found.append((lineno, f'{name}="{value.replace(MARK, "…")}"'))
        if tag not in VOID_ELEMENTS:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        # Tolerate unclosed <p>/<li> and template branches: close up to the matching tag.
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        if not self.skipping and has_words(data):
            # Report the line the words are on, not the line the text node starts on.
            leading = data[: len(data) - len(data.lstrip())].count("\n")
            text = " ".join(data.replace(MARK, " ").split())
            self.found.append((self.getpos()[0] + leading, text))


def unmarked_in_template(source: str, path: str = "<template>") -> list[Unmarked]:
    skeleton, literals = _skeleton(source)
    found = [Unmarked(path, lineno, text) for lineno, text in literals]
    if path.endswith(".html") or path == "<template>":
        parser = _VisibleTextParser()
        parser.feed(skeleton)
        parser.close()
        found += [Unmarked(path, lineno, text) for lineno, text in parser.found]
    else:
        # Plain-text templates (emails): every line of text is visible.
        for lineno, line in enumerate(skeleton.splitlines(), start=1):
            if has_words(line):
                found.append(Unmarked(path, lineno, " ".join(line.replace(MARK, " ").split())))
    return sorted(found, key=lambda item: item.lineno)


def template_files(base_dir: Path = BASE_DIR) -> list[Path]:
    return [path for path in source_files(base_dir) if path.suffix in TEMPLATE_SUFFIXES]


def template_problems(base_dir: Path = BASE_DIR) -> list[str]:
    found = []
    for path in template_files(base_dir):
        relative = path.relative_to(base_dir).as_posix()
        found += [str(item) for item in unmarked_in_template(path.read_text("utf-8"), relative)]
    return found


# --- Python: literal strings where a person reads them ---------------------------------------

# Keyword arguments that are labels or help a person reads (forms, models, admin).
LABEL_KEYWORDS = {"label", "help_text", "verbose_name", "verbose_name_plural", "empty_label"}
# Exceptions whose first argument is shown to a person (form errors, API errors, 4xx pages).
USER_ERRORS = {
    "ValidationError",
    "DomainError",
    "IllegalTransition",
    "NotAllowed",
    "OutOfScope",
    "InvalidInput",
    "PermissionDenied",
}
MESSAGE_FUNCTIONS = {"debug", "info", "success", "warning", "error"}
LABEL_ATTRIBUTES = {
    "site_header",
    "site_title",
    "index_title",
    "short_description",
    "verbose_name",
    "verbose_name_plural",
}
# Field classes whose first argument is a pattern, not a label.
NOT_LABEL_FIELDS = {"RegexField"}


def _literal(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def unmarked_in_python(source: str, path: str = "<python>") -> list[Unmarked]:
    """Plain string literals where gettext belongs: labels, help texts, verbose names, messages
    to the user, and errors shown to a person. Strings without letters are fine."""
    found = []
    for node in ast.walk(ast.parse(source)):
        literals = []
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            literals += [kw.value for kw in node.keywords if kw.arg in LABEL_KEYWORDS]
            if name == "action" and owner == "admin":
                literals += [kw.value for kw in node.keywords if kw.arg == "description"]
            if node.args and (
                name in USER_ERRORS or (name.endswith("Field") and name not in NOT_LABEL_FIELDS)
            ):
                literals.append(node.args[0])
            if owner == "messages" and name in MESSAGE_FUNCTIONS and len(node.args) > 1:
                literals.append(node.args[1])
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                name = (
                    target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                )
                if name in LABEL_ATTRIBUTES:
                    literals.append(node.value)
        for literal in literals:
            text = _literal(literal)
            if text is not None and has_words(text):
                found.append(Unmarked(path, literal.lineno, text, kind="string"))
    return sorted(found, key=lambda item: item.lineno)


def python_problems(base_dir: Path = BASE_DIR) -> list[str]:
    found = []
    for path in source_files(base_dir):
        if path.suffix == ".py":
            relative = path.relative_to(base_dir).as_posix()
            source = path.read_text("utf-8")
            found += [str(item) for item in unmarked_in_python(source, relative)]
    return found


def problems(
    locale_dir: Path = LOCALE_DIR,
    languages: Iterable[str] = REQUIRED_LANGUAGES,
    base_dir: Path = BASE_DIR,
) -> list[str]:
    languages = tuple(languages)
    return (
        catalogue_problems(locale_dir, languages)
        + placeholder_problems(locale_dir, languages)
        + staleness_problems(extract_all(base_dir), locale_dir, languages)
        + template_problems(base_dir)
        + python_problems(base_dir)
    )


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "extract":
        # Every language that has a catalogue, the required ones, and any named here.
        present = {path.parts[-3] for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
        languages = sorted(set(REQUIRED_LANGUAGES) | present | set(argv[2:]))
        for report in extract(languages, LOCALE_DIR):
            print(
                f"{report.language}: {report.new} new, {report.untranslated} untranslated, "
                f"{report.fuzzy} fuzzy (check and confirm), {report.obsolete} obsolete"
            )
        print(f"compiled {compile_all(LOCALE_DIR)} catalogues")
        return 0
    if command == "todo":
        import json

        languages = argv[2:] or REQUIRED_LANGUAGES
        print(json.dumps(todo(LOCALE_DIR, languages), ensure_ascii=False, indent=1))
        return 0
    if command == "apply" and len(argv) > 2:
        import json

        translations = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
        print(f"wrote {apply(translations, LOCALE_DIR)} translations")
        print(f"compiled {compile_all(LOCALE_DIR)} catalogues")
        return 0
    if command == "compile":
        print(f"compiled {compile_all(LOCALE_DIR)} catalogues")
        return 0
    if command == "check":
        found = problems(LOCALE_DIR)
        for line in found:
            print(line)
        print(f"translation check: {len(found)} problems")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
