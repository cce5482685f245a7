"""Passwordless tracking links: a signed, expiring token naming one dispute and its link version.

Bumping ``Dispute.tracking_link_version`` revokes every link issued before (``odr.links``).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse

from disputes.models import Dispute
from odr.links import CapabilityLink

SALT = "portal.tracking-link"


def tracking_link() -> CapabilityLink:
    return CapabilityLink(
        SALT,
        "tracking_link_version",
        dt.timedelta(days=settings.ODR_TRACKING_LINK_MAX_AGE_DAYS),
    )


def make_tracking_token(dispute: Dispute) -> str:
    return tracking_link().make(dispute)


def dispute_for_token(token: str) -> Dispute | None:
    """The dispute a token opens, or None if it is tampered, expired or revoked."""
    link = tracking_link()
    opened = link.open(token)
    if opened is None:
        return None
    dispute = (
        Dispute.objects.select_related("home_agency", "partner_agency", "category")
        .filter(pk=opened.pk)
        .first()
    )
    return dispute if link.is_current(opened, dispute) else None


def tracking_path(dispute: Dispute) -> str:
    return reverse("portal:track", kwargs={"token": make_tracking_token(dispute)})


def tracking_url(dispute: Dispute) -> str:
    return settings.ODR_PUBLIC_URL + tracking_path(dispute)
