"""The referral as a document: the cases frozen at approval and the PDF, in the referral's
language. Lists references, dates, amounts and outcomes only: the authority gets no consumer's
name or contact (the agency gives case files on request, under its own law)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import translation

from disputes.merchant_watch import merchant_disputes
from disputes.models import Dispute, Status
from disputes.services import agency_today
from odr.pdf import render_pdf

from .models import EnforcementReferral

OUTCOME_CHARS = 300


def frozen_cases(referral: EnforcementReferral, disputes: list[Dispute]) -> list[dict]:
    """What the referral lists of each case, as plain values that never change afterwards."""
    cases = []
    for dispute in disputes:
        # The day it was filed, on the agency's own calendar.
        filed = agency_today(referral.agency, dispute.filed_at)
        cases.append(
            {
                "reference": dispute.reference,
                "filed_on": filed.isoformat(),
                "purchase_date": dispute.purchase_date.isoformat(),
                "amount": f"{dispute.amount:f}",
                "currency": dispute.currency,
                "status": dispute.status,
                "outcome": dispute.outcome_summary[:OUTCOME_CHARS],
                "settlement_amount": (
                    f"{dispute.settlement_amount:f}"
                    if dispute.settlement_amount is not None
                    else ""
                ),
                "settlement_currency": dispute.settlement_currency,
            }
        )
    return cases


def draft_cases(referral: EnforcementReferral) -> list[dict]:
    """A draft's cases as they stand now (a draft's PDF is a preview, never kept)."""
    disputes = list(
        merchant_disputes(referral.agency, referral.merchant_key)
        .filter(pk__in=referral.disputes.values("pk"))
        .order_by("filed_at")
    )
    return frozen_cases(referral, disputes)


def summary(cases: list[dict]) -> dict:
    """Totals for the document: per currency claimed and recovered, and outcomes counted."""
    labels = dict(Status.choices)
    claimed: dict[str, Decimal] = {}
    recovered: dict[str, Decimal] = {}
    outcomes: dict[str, int] = {}
    for case in cases:
        claimed[case["currency"]] = claimed.get(case["currency"], Decimal(0)) + Decimal(
            case["amount"]
        )
        if case["settlement_amount"]:
            currency = case["settlement_currency"] or case["currency"]
            recovered[currency] = recovered.get(currency, Decimal(0)) + Decimal(
                case["settlement_amount"]
            )
        outcomes[case["status"]] = outcomes.get(case["status"], 0) + 1
    dates = sorted(case["filed_on"] for case in cases)
    return {
        "cases": len(cases),
        "claimed": sorted(claimed.items()),
        "recovered": sorted(recovered.items()),
        "outcomes": [
            (labels[status], outcomes[status]) for status in Status.values if status in outcomes
        ],
        "first": dt.date.fromisoformat(dates[0]) if dates else None,
        "last": dt.date.fromisoformat(dates[-1]) if dates else None,
    }


def rows_of(cases: list[dict]) -> list[dict]:
    """Frozen cases with dates, amounts and status labels (in the active language) to show."""
    labels = dict(Status.choices)
    return [
        {
            **case,
            "filed_on": dt.date.fromisoformat(case["filed_on"]),
            "amount": Decimal(case["amount"]),
            "settlement_amount": (
                Decimal(case["settlement_amount"]) if case["settlement_amount"] else None
            ),
            "status_label": labels.get(case["status"], case["status"]),
        }
        for case in cases
    ]


def referral_pdf(referral: EnforcementReferral, *, draft: bool = False) -> bytes:
    cases = draft_cases(referral) if draft else referral.cases
    with translation.override(referral.language):
        rows = rows_of(cases)
        html = render_to_string(
            "enforcement/referral_pdf.html",
            {
                "referral": referral,
                "agency": referral.agency,
                "rows": rows,
                "summary": summary(cases),
                "draft": draft,
                "dated": agency_today(referral.agency, referral.decided_at),
            },
        )
    return render_pdf(html, stylesheet="enforcement/referral.css")
