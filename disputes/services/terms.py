"""Checks on the terms people write: texts, amounts, currencies and dates to carry out a remedy.

Used by the settlement and merchant services; each raises ``InvalidInput`` with a stable code
and a message in the caller's language.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from babel.numbers import list_currencies
from django.utils.translation import gettext as _

from odr.errors import InvalidInput

from ..models import Dispute
from .deadlines import acting_agency, agency_today
from .timeline import require_text

# What a merchant or a consumer writes in one answer; longer is refused, not cut.
MAX_TEXT = 5000
# An amount no settlement reaches (fits the amount columns with room to spare).
MAX_AMOUNT = Decimal("1000000000000")
# A settlement's amount in the claim's currency may be at most this many times the claim.
MAX_TIMES_CLAIM = 10
# How far ahead a merchant may promise to carry out a remedy.
MAX_PERFORM_DAYS = 365


def check_text(value: str, what: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required:
        value = require_text(value, what)
    if len(value) > MAX_TEXT:
        raise InvalidInput(
            _("%(what)s is %(length)s characters long; at most %(limit)s are allowed.")
            % {"what": what[:1].upper() + what[1:], "length": len(value), "limit": MAX_TEXT},
            code="text_too_long",
        )
    return value


def check_currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if code not in list_currencies():
        raise InvalidInput(
            _("%(code)s is not a currency code (ISO 4217, e.g. IDR, KRW, EUR).")
            % {"code": (currency or "")[:10]},
            code="unknown_currency",
        )
    return code


def check_amount(dispute: Dispute, amount, currency: str, *, checked_here: bool = True) -> Decimal:
    """A positive amount with at most two decimals; ``checked_here`` also refuses an absurd one
    (False for terms the partner's node checked already)."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("The amount is not a number."), code="amount_invalid") from None
    if not value.is_finite() or value <= 0:
        raise InvalidInput(_("The amount must be more than zero."), code="amount_not_positive")
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput(
            _("The amount may have at most two decimal places."), code="amount_invalid"
        )
    too_much = value >= MAX_AMOUNT or (
        checked_here and currency == dispute.currency and value > dispute.amount * MAX_TIMES_CLAIM
    )
    if too_much:
        raise InvalidInput(
            _("%(amount)s %(currency)s is far more than this claim; check the amount.")
            % {"amount": value, "currency": currency},
            code="amount_absurd",
        )
    return value


def check_perform_by(
    dispute: Dispute, perform_by: dt.date | None, *, checked_here: bool = True
) -> dt.date:
    """A date to carry out a remedy, within a year of today on the acting agency's calendar
    (only its presence when the partner's node ``checked`` it already)."""
    if perform_by is None:
        raise InvalidInput(
            _("Give the date by which it will be carried out."), code="perform_by_required"
        )
    if not checked_here:
        return perform_by
    today = agency_today(acting_agency(dispute))
    if perform_by < today:
        raise InvalidInput(_("That date is in the past."), code="perform_by_in_past")
    if perform_by > today + dt.timedelta(days=MAX_PERFORM_DAYS):
        raise InvalidInput(
            _("The remedy must be carried out within a year."), code="perform_by_too_late"
        )
    return perform_by
