"""What the charts draw, handed to static/figures/charts.js through json_script (no inline JS).

Labels are translated here, so the charts speak the page's language; the same numbers are in
the tables beside each chart.
"""

from __future__ import annotations

from django.utils.translation import gettext as _


def staff_charts(figures: dict) -> dict:
    months = [row["month"] for row in figures["by_month"]]
    flows = [
        ("filed", _("Filed here")),
        ("forwarded", _("Forwarded")),
        ("received", _("Received")),
        ("resolved", _("Resolved")),
    ]
    return {
        "by_month": {
            "type": "bar",
            "labels": months,
            "datasets": [
                {"label": str(label), "data": [row[key] for row in figures["by_month"]]}
                for key, label in flows
            ],
        },
        "by_outcome": _bars(figures["by_outcome"], _("Disputes")),
        "by_partner": {
            "type": "bar",
            "labels": [
                row["label"] if row["code"] else _("None (not forwarded)")
                for row in figures["by_partner"]
            ],
            "datasets": [
                {"label": str(label), "data": [row[key] for row in figures["by_partner"]]}
                for key, label in flows
            ],
        },
        "by_category": _bars(figures["by_category"], _("Disputes")),
    }


def public_charts(figures: dict) -> dict:
    shown = [row for row in figures["by_outcome"] if row["count"] is not None]
    return {"by_outcome": _bars(shown, _("Disputes"))}


def _bars(rows: list[dict], label: str) -> dict:
    return {
        "type": "bar",
        "horizontal": True,
        "labels": [row["label"] for row in rows],
        "datasets": [{"label": str(label), "data": [row["count"] for row in rows]}],
    }
