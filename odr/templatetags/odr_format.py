"""Formatting filters for templates: {% load odr_format %}.

{{ dispute.amount_paid|money:dispute.currency }}  ->  Rp 1.250.000 / IDR 1,250,000 / ...
{{ count|number }}                               ->  1.250.000 (id) / 1,250,000 (en, ko)

Dates: Django's own |date filter already follows the active language (DATE_FORMAT,
SHORT_DATE_FORMAT, DATETIME_FORMAT; English is British through odr/formats/en).
"""

from django import template

from odr.l10n import format_money, format_number

register = template.Library()


@register.filter
def money(amount, currency):
    return format_money(amount, currency or "")


@register.filter
def number(value, decimals=None):
    return format_number(value, decimals=int(decimals) if decimals not in (None, "") else None)
