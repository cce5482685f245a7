"""Reading the PDFs the node makes, as a person would: their text (poppler's pdftotext) and a
picture of the first page (pdftoppm) under test-artifacts/screenshots/ to look at."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from tests.conftest import SCREENSHOTS


def _file(pdf: bytes | Path) -> Path:
    if isinstance(pdf, Path):
        return pdf
    path = Path(tempfile.mkstemp(suffix=".pdf")[1])
    path.write_bytes(pdf)
    return path


def pdf_text(pdf: bytes | Path) -> str:
    """The text laid out as on the page, non-breaking spaces as plain ones."""
    result = subprocess.run(
        ["pdftotext", "-layout", str(_file(pdf)), "-"], capture_output=True, text=True, check=True
    )
    return result.stdout.replace("\xa0", " ")


def first_page_png(pdf: bytes | Path, name: str) -> Path:
    """test-artifacts/screenshots/<name>-1.png at 80 dpi."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stem = SCREENSHOTS / name
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(_file(pdf)), str(stem)],
        check=True,
    )
    return stem.with_name(f"{name}-1.png")
