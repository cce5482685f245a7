"""Small display helpers for the caseworker templates."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.translation import get_language_info

from disputes.models import Status

register = template.Library()


@register.filter
def language_label(code: str) -> str:
    """A language code as a name in the reader's language; unknown codes are shown as they are."""
    if not code:
        return ""
    names = dict(settings.LANGUAGES)
    if code in names:
        return str(names[code])
    try:
        return get_language_info(code)["name_translated"]
    except KeyError:
        return code


@register.filter
def status_label(value: str) -> str:
    try:
        return str(Status(value).label)
    except ValueError:
        return value
