"""Text a person reads that is not marked for translation: in templates and in Python."""

from __future__ import annotations

import ast
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from .catalogues import (
    BASE_DIR,
    TEMPLATE_SUFFIXES,
    source_files,
)

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
