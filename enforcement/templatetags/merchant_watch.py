"""{% load merchant_watch %}: a merchant's identity as people read it."""

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def merchant_identity(key: str) -> str:
    """web:shop.example.kr -> shop.example.kr; shop:tokopedia:gadgetmurah -> a shop on a
    marketplace, in the reader's language."""
    kind, _sep, rest = (key or "").partition(":")
    if kind == "web":
        return rest
    if kind == "shop":
        marketplace, _sep, shop = rest.partition(":")
        return _("shop “%(shop)s” on %(marketplace)s") % {"shop": shop, "marketplace": marketplace}
    return key
