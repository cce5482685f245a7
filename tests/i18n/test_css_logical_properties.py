"""Stylesheets use logical properties only, so a right-to-left language needs no second sheet."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

PHYSICAL = re.compile(
    r"""(?<![\w-])(?:
        (?:margin|padding|border)-(?:left|right)(?:-[a-z]+)?\s*:   # margin-left, border-right-color
      | (?:left|right)\s*:                                         # left: 0
      | text-align\s*:\s*(?:left|right)\b
      | float\s*:\s*(?:left|right)\b
      | clear\s*:\s*(?:left|right)\b
      | border-(?:top|bottom)-(?:left|right)-radius\s*:
    )""",
    re.VERBOSE | re.IGNORECASE,
)


def physical_properties(css: str) -> list[tuple[int, str]]:
    css = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group()), css, flags=re.S)
    found = []
    for lineno, line in enumerate(css.splitlines(), start=1):
        found += [(lineno, match.group().strip()) for match in PHYSICAL.finditer(line)]
    return found


def stylesheets() -> list[Path]:
    roots = [Path(settings.BASE_DIR) / "static"] + [
        path for path in Path(settings.BASE_DIR).glob("*/static") if ".venv" not in path.parts
    ]
    return sorted({css for root in roots for css in root.rglob("*.css")})


def test_there_are_stylesheets_to_check():
    assert any(path.name == "site.css" for path in stylesheets())


def test_stylesheets_use_only_logical_properties():
    found = {
        str(path.relative_to(settings.BASE_DIR)): problems
        for path in stylesheets()
        if (problems := physical_properties(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_check_catches_physical_properties():
    css = """
    /* margin-left: 1rem in a comment is fine */
    .a { margin-left: 1rem; padding-inline-start: 1rem; }
    .b { text-align: right; inset-inline-end: 0; }
    .c { float: left; border-right-width: 2px; }
    .d { position: absolute; left: 0; }
    .e { text-align: start; margin-inline: auto; border-start-start-radius: 4px; }
    """
    assert physical_properties(css) == [
        (3, "margin-left:"),
        (4, "text-align: right"),
        (5, "float: left"),
        (5, "border-right-width:"),
        (6, "left:"),
    ]
