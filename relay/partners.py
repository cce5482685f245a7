"""What this node tells its partners about itself outside a case: its keys and pings.

Owns: ``init_node_keys`` (a node's first signing and encryption keys), ``rotate_node_keys``
(new keys announced in a ``partner.keys`` packet signed with the old key, the old ones kept for
an overlap), ``pin_partner_keys`` (a partner's JWK set pinned at onboarding) and ``send_ping``.
The private key files themselves are ``relay.keys``.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency, AgencyKey, MoU
from agencies.selectors import (
    active_mou_between,
    mou_named,
    mous_between,
    this_agency,
    valid_keys,
)
from agencies.services import pin_agency_jwks, pin_agency_key
from odr.errors import DomainError

from . import keys as node_keys
from .models import OutboundPacket, PacketType
from .outbox import queue_packet
from .standing import ping_body

logger = logging.getLogger(__name__)


MIN_KEY_GRACE_SECONDS = 300


def mou_for_ping(partner: Agency, reference: str | None = None) -> MoU:
    """The MoU a ping goes under: the one named, else the one in force, else the newest one
    that is not terminated (a draft being onboarded)."""
    here = this_agency()
    if reference:
        mou = mou_named(here, partner, reference)
    else:
        mou = active_mou_between(here, partner) or (
            mous_between(here, partner)
            .exclude(status=MoU.Status.TERMINATED)
            .order_by("-created_at", "-pk")
            .first()
        )
    if mou is None:
        raise DomainError(
            _("There is no MoU with %(agency)s.") % {"agency": partner.code}, code="no_mou"
        )
    return mou


@transaction.atomic
def send_ping(agency_code: str, *, mou_reference: str | None = None) -> OutboundPacket:
    """Queue a partner.ping (the connectivity check) under an MoU with the agency, whatever its
    state: it carries this node's state of the MoU, and the partner's signed receipt (the
    pong) carries theirs; the answer's round trip is stored on the MoU."""
    partner = Agency.objects.get(code=agency_code)
    if partner.status == Agency.Status.PROSPECTIVE:
        raise DomainError(
            _("Confirm %(agency)s (compare its key thumbprints) before pinging it.")
            % {"agency": agency_code},
            code="partner_not_confirmed",
        )
    return _queue_ping(partner, mou_for_ping(partner, mou_reference))


def announce_mou_status(sender, *, mou: MoU, reason: str, **kwargs) -> None:
    """An MoU changed status here: tell the partner in-band, with the reason, in a ping."""
    here = this_agency()
    if not mou.is_party(here):
        return
    partner = mou.partner_of(here)
    if partner.status != Agency.Status.PROSPECTIVE:
        _queue_ping(partner, mou)


def _queue_ping(partner: Agency, mou: MoU) -> OutboundPacket:
    """A partner.ping under the MoU, carrying this node's state of it (``standing.ping_body``)."""
    now = timezone.now()
    return queue_packet(
        PacketType.PARTNER_PING,
        recipient=partner,
        mou=mou,
        body=ping_body(mou, secrets.token_hex(8), now),
        now=now,
    )


@transaction.atomic
def init_node_keys(now: dt.datetime | None = None) -> list[tuple[str, str, bool]]:
    """Make sure this node has a valid signing and encryption key; returns (use, kid, created)."""
    now = now or timezone.now()
    agency = this_agency()
    held = node_keys.private_keys()
    from_env = node_keys.env_keys()
    result = []
    for use in ("sig", "enc"):
        if use in from_env:
            key = from_env[use]
            pin_agency_key(agency, node_keys.public_half(key), not_before=now)
            result.append((use, key.kid, False))
            continue
        usable = [key for key in valid_keys(agency, use, now) if key.kid in held]
        if usable:
            newest = max(usable, key=lambda key: (key.not_before, key.pk))
            result.append((use, newest.kid, False))
            continue
        key = node_keys.generate(use, now)
        node_keys.write_private(key)
        pin_agency_key(agency, node_keys.public_half(key), not_before=now)
        result.append((use, key.kid, True))
    return result


@transaction.atomic
def rotate_node_keys(
    now: dt.datetime | None = None, *, grace_seconds: int | None = None
) -> list[OutboundPacket]:
    """New keys now; the old ones stay valid for a grace period; partners are told.

    The grace period is ODR_KEY_GRACE_SECONDS unless given (shorter when a key may be exposed,
    but never under MIN_KEY_GRACE_SECONDS: the partner.keys packet itself is signed with the
    old signing key, which the partners trust, and must be delivered while it is valid).
    """
    now = now or timezone.now()
    if grace_seconds is None:
        grace_seconds = settings.ODR_KEY_GRACE_SECONDS
    if grace_seconds < MIN_KEY_GRACE_SECONDS:
        raise DomainError(
            _("The grace period must be at least %(seconds)s seconds.")
            % {"seconds": MIN_KEY_GRACE_SECONDS},
            code="grace_too_short",
        )
    agency = this_agency()
    previous_sig = node_keys.current_key("sig", now)
    grace_end = now + dt.timedelta(seconds=grace_seconds)
    old = [key for key in agency.keys.all() if key.is_valid_at(now)]
    fresh = []
    for use in ("sig", "enc"):
        key = node_keys.generate(use, now)
        node_keys.write_private(key)
        fresh.append(key)
    retire = []
    for key in old:
        if key.not_after is None or key.not_after > grace_end:
            key.not_after = grace_end
            key.save(update_fields=["not_after"])
        retire.append({"kid": key.kid, "not_after": key.not_after.isoformat()})
    start = now
    for key in fresh:
        pin_agency_key(agency, node_keys.public_half(key), not_before=start)
    body = {
        "keys": [{**node_keys.public_half(key), "not_before": start.isoformat()} for key in fresh],
        "retire": retire,
    }
    queued = []
    for partner in Agency.objects.exclude(pk=agency.pk):
        mou = active_mou_between(agency, partner, on=now.date())
        if mou is None:
            continue
        queued.append(
            queue_packet(
                PacketType.PARTNER_KEYS,
                recipient=partner,
                mou=mou,
                body=body,
                signing_kid=previous_sig.kid,
                now=now,
            )
        )
    return queued


def pin_partner_keys(agency_code: str, jwks: dict) -> list[AgencyKey]:
    """Pin a partner's public keys from its JWK set (onboarding)."""
    agency = Agency.objects.get(code=agency_code)
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise DomainError(_("Not a JWK set."), code="invalid_jwks")
    return pin_agency_jwks(agency, jwks)
