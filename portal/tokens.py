"""Passwordless tracking links: a signed, expiring token naming one dispute and its link version.

Bumping ``Dispute.tracking_link_version`` revokes every link issued before.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from disputes.models import Dispute

SALT = "portal.tracking-link"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def make_tracking_token(dispute: Dispute) -> str:
    return _signer().sign_object({"d": dispute.pk, "v": dispute.tracking_link_version})


def dispute_for_token(token: str) -> Dispute | None:
    """The dispute a token opens, or None if it is tampered, expired or revoked."""
    max_age = settings.ODR_TRACKING_LINK_MAX_AGE_DAYS * 24 * 3600
    try:
        payload = _signer().unsign_object(token, max_age=max_age)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(payload, dict):
        return None
    dispute = (
        Dispute.objects.select_related("home_agency", "partner_agency", "category")
        .filter(pk=payload.get("d"))
        .first()
    )
    if dispute is None or dispute.tracking_link_version != payload.get("v"):
        return None
    return dispute


def tracking_path(dispute: Dispute) -> str:
    return reverse("portal:track", kwargs={"token": make_tracking_token(dispute)})


def tracking_url(dispute: Dispute) -> str:
    return settings.ODR_PUBLIC_URL + tracking_path(dispute)
