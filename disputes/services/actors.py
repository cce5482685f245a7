"""Who acts on a dispute, and which side of it they are on.

Owns: ``Actor`` (consumer, caseworker, partner agency through a packet, merchant, system),
``side_of`` and ``timeline_actor``. Calls nothing else in the domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from odr.errors import NotAllowed

from ..models import Dispute, TimelineEvent


@dataclass(frozen=True)
class Actor:
    """Who performs an action, as the domain sees them.

    ``kind`` is consumer, caseworker (a person at this node's agency), agency (a partner agency
    acting through a case packet), merchant or system.
    """

    kind: str
    name: str = ""
    agency_code: str | None = None
    user: Any = field(default=None, compare=False)
    # For a partner's packet: the change was made there by the consumer or the merchant, whom
    # that agency speaks for (the consumer only through the home agency).
    on_behalf_of: str = ""

    @classmethod
    def consumer(cls, name: str = "") -> Actor:
        return cls("consumer", name)

    @classmethod
    def caseworker(cls, user) -> Actor:
        if not (user and user.is_active and user.has_perm("disputes.handle_dispute")):
            raise NotAllowed(_("Only caseworkers may do this."), code="not_a_caseworker")
        name = user.get_full_name() or user.get_username()
        return cls("caseworker", name, settings.ODR_NODE, user)

    @classmethod
    def agency(cls, code: str, *, name: str = "", on_behalf_of: str = "") -> Actor:
        """A partner agency acting through a case packet applied by the relay."""
        return cls("agency", name or code, code, on_behalf_of=on_behalf_of)

    @classmethod
    def system(cls) -> Actor:
        return cls("system", "system")

    @property
    def is_remote(self) -> bool:
        """True when the change arrived from the partner node and must not be relayed back."""
        return self.kind == "agency"


def side_of(actor: Actor, dispute: Dispute) -> str:
    if actor.kind in ("consumer", "merchant", "system"):
        return actor.kind
    if actor.kind == "agency" and actor.on_behalf_of == "merchant":
        return "merchant"
    if actor.kind == "agency" and actor.on_behalf_of == "consumer":
        return "consumer" if actor.agency_code == dispute.home_agency.code else "outsider"
    if actor.agency_code == dispute.home_agency.code:
        return "home"
    if dispute.partner_agency_id and actor.agency_code == dispute.partner_agency.code:
        return "partner"
    return "outsider"


def timeline_actor(actor: Actor, dispute: Dispute) -> str:
    return {
        "consumer": TimelineEvent.Actor.CONSUMER,
        "merchant": TimelineEvent.Actor.MERCHANT,
        "system": TimelineEvent.Actor.SYSTEM,
        "home": TimelineEvent.Actor.HOME_AGENCY,
        "partner": TimelineEvent.Actor.PARTNER_AGENCY,
    }.get(side_of(actor, dispute), TimelineEvent.Actor.SYSTEM)


# --- reference numbers ------------------------------------------------------------------------
