"""Numbers and money for the reader's language, with Babel (CLDR data).

Amounts are always shown in their own currency; only the way of writing it follows the reader's
language. Django's language codes map to a Babel locale with a country, because currency symbols
and separators are a matter of the country's conventions (en -> en_GB: £ is "£", IDR is "IDR").
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
)
from django.utils import translation

BABEL_LOCALES = {"id": "id_ID", "ko": "ko_KR", "en": "en_GB"}
# Rupiah amounts are written without decimals in practice (CLDR still says 2).
WHOLE_UNIT_CURRENCIES = {"IDR"}
NBSP = "\u00a0"


def babel_locale(language: str | None = None) -> Locale:
    """The Babel locale for a Django language code (default: the active language)."""
    language = (language or translation.get_language() or "en").lower()
    name = BABEL_LOCALES.get(language) or BABEL_LOCALES.get(language.split("-")[0])
    try:
        return Locale.parse(name or language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(BABEL_LOCALES["en"])


def currency_decimals(currency: str) -> int:
    return 0 if currency in WHOLE_UNIT_CURRENCIES else get_currency_precision(currency)


def _as_decimal(amount) -> Decimal | None:
    if amount is None or amount == "":
        return None
    try:
        return Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return None


def format_money(amount, currency: str, language: str | None = None) -> str:
    """E.g. 1250000 IDR -> "Rp 1.250.000" (id), "IDR 1,250,000" (en), "₩1,250,000" (ko, KRW).

    A symbol made of letters (Rp, IDR) is kept apart from the digits by a no-break space, as
    CLDR's currency-spacing rule says (Babel does not apply it), so it never wraps on its own.
    """
    value = _as_decimal(amount)
    if value is None or not currency:
        return ""
    currency = currency.upper()
    locale = babel_locale(language)
    decimals = currency_decimals(currency)
    pattern = locale.currency_formats["standard"].pattern.split(";")[0]
    integer_part, _, rest = pattern.partition(".")
    # Keep what follows the fraction digits (e.g. a trailing " ¤" in some locales).
    suffix = rest.lstrip("0#")
    pattern = integer_part + ("." + "0" * decimals if decimals else "") + suffix
    text = format_currency(value, currency, format=pattern, locale=locale, currency_digits=False)
    symbol = get_currency_symbol(currency, locale=locale)
    sign = ""
    if text[:1] in {"-", "\u2212"}:
        sign, text = text[0], text[1:]
    if symbol and symbol[-1].isalpha() and text.startswith(symbol):
        after = text[len(symbol) :]
        if after[:1].isdigit() or after[:1] == "-":
            text = symbol + NBSP + after
    if symbol and symbol[0].isalpha() and text.endswith(symbol):
        before = text[: -len(symbol)]
        if before[-1:].isdigit():
            text = before + NBSP + symbol
    return sign + text


def format_number(value, language: str | None = None, decimals: int | None = None) -> str:
    number = _as_decimal(value)
    if number is None:
        return ""
    pattern = None
    if decimals is not None:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(number, format=pattern, locale=babel_locale(language))
