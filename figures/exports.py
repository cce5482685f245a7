"""The figures as CSV, JSON and a PDF report: formats only, the numbers come from selectors."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder

from odr.pdf import render_pdf

SECTIONS = ("by_month", "by_partner", "by_channel", "by_category", "by_problem", "by_outcome")
SINGLE = ("time_to_first_answer", "time_to_resolution", "resolved_in_time", "merchant_response")


def as_json(figures: dict) -> str:
    return json.dumps(figures, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1)


def as_csv(figures: dict) -> str:
    """One row per figure: section, row, column, value; a spreadsheet pivots it as it likes."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "row", "column", "value"])
    for name, value in figures["filters"].items():
        writer.writerow(["filters", name, "", value])
    writer.writerow(["as_of", "", "", figures["as_of"] or ""])
    for section in SECTIONS:
        for row in figures[section]:
            name = row.get("month") or row.get("code") or ""
            for column, value in row.items():
                if column not in ("month", "code", "label"):
                    writer.writerow([section, name, column, _cell(value)])
    for section in SINGLE:
        for column, value in figures[section].items():
            writer.writerow([section, "", column, _cell(value)])
    for row in figures["recovered"]:
        writer.writerow(["recovered", row["currency"], "disputes", row["disputes"]])
        writer.writerow(["recovered", row["currency"], "amount", _cell(row["amount"])])
    for row in figures["packets"]:
        for column, value in row.items():
            if column not in ("code", "label"):
                writer.writerow(["packets", row["code"], column, _cell(value)])
    return out.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def as_pdf(html: str, base_url: str) -> bytes:
    return render_pdf(html, stylesheet="figures/report.css", base_url=base_url)
