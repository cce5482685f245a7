"""Who a merchant is: the normalised identity that one merchant's disputes are grouped under.

Owns ``normalise_domain``, ``merchant_key`` (the key of a ``Merchant`` on record) and
``dispute_merchant_key`` (the key a dispute is filed under, from the consumer's web address).
Reads nothing and writes nothing.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from odr.errors import InvalidInput

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalise_domain(website: str) -> str:
    """The shop's web domain from what people write: scheme, www., port, path and case dropped.

    Raises ``InvalidInput`` when no domain can be read from it.
    """
    text = (website or "").strip().lower()
    if "//" not in text:
        text = "//" + text
    host = (urlsplit(text).hostname or "").rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = ""
    if host.startswith("www."):
        host = host[4:]
    if not _DOMAIN_RE.match(host):
        raise InvalidInput(
            _("“%(value)s” is not a web address.") % {"value": website[:100]}, code="bad_domain"
        )
    return host


def merchant_key(*, website: str = "", marketplace: str = "", shop_id: str = "") -> str:
    """One merchant's identity on this node: its web domain, or its marketplace and shop id."""
    marketplace, shop_id = marketplace.strip().lower(), shop_id.strip().lower()
    if marketplace and shop_id:
        marketplace = re.sub(r"\s+", "-", marketplace)
        return f"shop:{marketplace}:{shop_id}"[:300]
    if website.strip():
        return f"web:{normalise_domain(website)}"
    raise InvalidInput(
        _("Give the merchant's web address, or the marketplace and the shop's id there."),
        code="merchant_identity_required",
    )


# Marketplaces whose shops are told apart by the first part of the address's path
# (tokopedia.com/<shop>): disputes against two shops there are not one merchant.
MARKETPLACE_DOMAINS = {
    "tokopedia.com": "tokopedia",
    "shopee.co.id": "shopee",
    "bukalapak.com": "bukalapak",
    "lazada.co.id": "lazada",
    "blibli.com": "blibli",
    "smartstore.naver.com": "naver-smartstore",
    "gmarket.co.kr": "gmarket",
    "11st.co.kr": "11st",
    "auction.co.kr": "auction",
    "amazon.co.uk": "amazon-uk",
    "ebay.co.uk": "ebay-uk",
    "etsy.com": "etsy",
}


def dispute_merchant_key(website: str) -> str:
    """The merchant identity a dispute is grouped under, from the address the consumer gave:
    ``web:<domain>``, or ``shop:<marketplace>:<shop>`` for a shop's page on a known
    marketplace; "" when no web address can be read from it (the dispute stays ungrouped until
    a caseworker records the merchant)."""
    try:
        domain = normalise_domain(website)
    except InvalidInput:
        return ""
    marketplace = MARKETPLACE_DOMAINS.get(domain)
    if marketplace is None:
        return f"web:{domain}"
    text = website.strip()
    path = urlsplit(text if "//" in text else "//" + text).path
    shop = next((part for part in path.split("/") if part), "")
    if not shop or shop.lower() in ("shop", "store", "s", "p"):
        # The marketplace's own address, or one whose shop is not the first part: the dispute
        # is about the marketplace itself, as far as this address tells.
        return f"web:{domain}"
    return merchant_key(marketplace=marketplace, shop_id=shop)
