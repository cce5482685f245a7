"""Translation catalogues without GNU gettext: compile and check them with Babel.

python -m odr.i18n compile   # locale/*/LC_MESSAGES/*.po -> .mo
python -m odr.i18n check     # fail on any untranslated or fuzzy message in id, ko, en
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

BASE_DIR = Path(__file__).resolve().parent.parent
LOCALE_DIR = BASE_DIR / "locale"
REQUIRED_LANGUAGES = ("id", "ko", "en")


def catalogues(locale_dir: Path = LOCALE_DIR):
    yield from sorted(locale_dir.glob("*/LC_MESSAGES/*.po"))


def compile_all(locale_dir: Path = LOCALE_DIR) -> int:
    count = 0
    for po_path in catalogues(locale_dir):
        with po_path.open("rb") as handle:
            catalogue = read_po(handle, locale=po_path.parts[-3])
        with po_path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalogue, use_fuzzy=False)
        count += 1
    return count


def problems(locale_dir: Path = LOCALE_DIR, languages=REQUIRED_LANGUAGES) -> list[str]:
    found = []
    for language in languages:
        paths = list((locale_dir / language / "LC_MESSAGES").glob("*.po"))
        if not paths:
            found.append(f"{language}: no catalogue")
        for po_path in paths:
            with po_path.open("rb") as handle:
                catalogue = read_po(handle, locale=language)
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


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "compile":
        print(f"compiled {compile_all()} catalogues")
        return 0
    if command == "check":
        found = problems()
        for line in found:
            print(line)
        print(f"translation check: {len(found)} problems")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
