"""The merchant's link: a capability link (``odr.links``) on ``Dispute.merchant_link_version``.

A new invitation bumps the version, so the link sent before stops working; revoking bumps it
without sending. The token travels only in the email and in the first request (as a query
parameter, which the access log leaves out); the case pages then use the session.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from disputes.models import Dispute
from odr.links import CapabilityLink, Opened

SALT = "merchants.case-link"
SESSION_KEY = "merchant_case"


def merchant_link() -> CapabilityLink:
    return CapabilityLink(
        SALT, "merchant_link_version", dt.timedelta(days=settings.ODR_MERCHANT_LINK_MAX_AGE_DAYS)
    )


def make_merchant_token(dispute: Dispute) -> str:
    return merchant_link().make(dispute)


def merchant_url(dispute: Dispute) -> str:
    query = urlencode({"t": make_merchant_token(dispute)})
    return f"{settings.ODR_PUBLIC_URL}{reverse('merchants:open')}?{query}"


def _current(opened: Opened | None) -> Dispute | None:
    if opened is None or opened.version < 1:
        return None
    dispute = (
        Dispute.objects.select_related("merchant", "desired_remedy", "category", "mou")
        .filter(pk=opened.pk, merchant__isnull=False)
        .first()
    )
    return dispute if merchant_link().is_current(opened, dispute) else None


def dispute_for_token(token: str) -> tuple[Dispute | None, Opened | None]:
    """The dispute a token opens and what it said, or (None, None): tampered, expired, revoked."""
    opened = merchant_link().open(token or "")
    dispute = _current(opened)
    return (dispute, opened) if dispute else (None, None)


def remember(session, opened: Opened) -> None:
    session.cycle_key()
    session[SESSION_KEY] = {"d": opened.pk, "v": opened.version, "e": opened.expires_at}


def dispute_for_session(session) -> Dispute | None:
    """The case the session's link opened, while that link is still valid."""
    held = session.get(SESSION_KEY)
    if not isinstance(held, dict):
        return None
    try:
        opened = Opened(int(held["d"]), int(held["v"]), float(held["e"]))
    except (KeyError, TypeError, ValueError):
        return None
    return _current(opened)
