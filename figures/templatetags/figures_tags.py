import datetime as dt

from babel.numbers import format_percent
from django import template

from figures.selectors import can_view_statistics as _can_view_statistics
from odr.l10n import babel_locale

register = template.Library()


@register.filter
def can_view_statistics(user) -> bool:
    return _can_view_statistics(user)


@register.filter
def percent(share) -> str:
    """0.6667 -> "67%" as the active language writes it, or an em dash when there is none."""
    if share is None:
        return "—"
    return format_percent(share, locale=babel_locale())


@register.filter
def as_datetime(text):
    """The ISO time the figures carry (JSON-friendly), as a datetime for Django's |date."""
    return dt.datetime.fromisoformat(text) if text else None
