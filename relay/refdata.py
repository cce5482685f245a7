"""What every packet needs and almost never changes: this agency and agencies' pinned keys, kept
in each process by ``agencies.refcache`` (which says why that is safe), as the MoUs in force are
(``agencies.selectors.mou_in_force``).

Read for every packet, these rows cost about a third of the inbox's CPU (ORM query building over
translated tables, more than the cryptography). Callers must treat the returned objects as
read-only.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from agencies.models import Agency, AgencyKey
from agencies.refcache import cached as _cached
from agencies.refcache import clear

__all__ = [
    "clear",
    "own_key_row",
    "signing_key",
    "this_agency",
    "valid_keys",
]


def this_agency() -> Agency:
    """This node's agency (``ODR_NODE``), with its country."""
    code = settings.ODR_NODE
    return _cached(
        ("agency", code),
        lambda: Agency.objects.select_related("country").get(code=code),
    )


def _keys_of(agency_id: int) -> list[AgencyKey]:
    return _cached(
        ("keys", agency_id),
        lambda: list(AgencyKey.objects.filter(agency_id=agency_id).order_by("pk")),
    )


def valid_keys(agency: Agency, use: str, at: dt.datetime | None = None) -> list[AgencyKey]:
    """As ``agencies.selectors.valid_keys``: the agency's keys for a use valid at ``at``."""
    at = at or timezone.now()
    return [key for key in _keys_of(agency.pk) if key.use == use and key.is_valid_at(at)]


def own_key_row(kid: str, use: str) -> AgencyKey | None:
    """This node's pinned public half of one of its keys, valid or not."""
    try:
        agency = this_agency()
    except Agency.DoesNotExist:
        return None
    return next((k for k in _keys_of(agency.pk) if k.kid == kid and k.use == use), None)


def signing_key(kid: str) -> AgencyKey | None:
    """The pinned signing key with this kid, of whichever agency, with its agency."""

    def load():
        key = AgencyKey.objects.filter(kid=kid, use=AgencyKey.Use.SIGNING)
        return key.select_related("agency").first()

    return _cached(("sig", kid), load)
