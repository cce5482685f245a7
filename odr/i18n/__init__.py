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

from collections.abc import Iterable
from pathlib import Path

from .catalogues import (
    BASE_DIR,
    DOMAIN,
    LOCALE_DIR,
    REQUIRED_LANGUAGES,
    SOURCE_LANGUAGE,
    Extracted,
    MergeReport,
    _read,
    _write,
    apply,
    compile_all,
    extract,
    extract_all,
    extract_file,
    fill_source_language,
    merge,
    source_files,
    todo,
)
from .checks import (
    catalogue_problems,
    placeholder_problems,
    placeholders,
    staleness_problems,
)
from .unmarked import (
    python_problems,
    template_problems,
    unmarked_in_python,
    unmarked_in_template,
)

__all__ = [
    "BASE_DIR",
    "DOMAIN",
    "LOCALE_DIR",
    "REQUIRED_LANGUAGES",
    "SOURCE_LANGUAGE",
    "Extracted",
    "MergeReport",
    "_read",
    "_write",
    "apply",
    "catalogue_problems",
    "compile_all",
    "extract",
    "extract_all",
    "extract_file",
    "fill_source_language",
    "main",
    "merge",
    "placeholder_problems",
    "placeholders",
    "problems",
    "python_problems",
    "source_files",
    "staleness_problems",
    "template_problems",
    "todo",
    "unmarked_in_python",
    "unmarked_in_template",
]


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
