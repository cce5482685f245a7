"""Partner cards: one signed-off JSON document per node that says who the agency is, where and
when it works, where its relay inbox is, which protocol versions it speaks and its public keys.

A node publishes its own card (``/.well-known/odr-partner.json``, ``manage.py
export_partner_card``, the admin); an administrator imports a partner's card, which stores the
partner as *prospective* with its keys pinned, shows the keys' RFC 7638 thumbprints to compare
out of band, and confirms the partner once they match. A bad card stores nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from modeltranslation.utils import build_localized_fieldname

from agencies.models import Agency, AgencyKey, Country
from agencies.services import pin_agency_key
from odr.errors import DomainError

from .packets import PROTOCOL_VERSION, schema_errors

CARD_FORMAT = "odr-partner-card/1"
CURVES = {"sig": "Ed25519", "enc": "X25519"}
# Members of a JWK that only a private (or symmetric) key has.
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")
MAX_CARD_BYTES = 64 * 1024


class CardRefused(DomainError):
    code = "invalid_card"
    http_status = 400


@dataclass(frozen=True)
class ImportedCard:
    agency: Agency
    thumbprints: list[tuple[str, str, str]]  # (use, kid, RFC 7638 thumbprint)


def thumbprint(jwk: dict) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of an OKP public key."""
    required = {name: jwk[name] for name in ("crv", "kty", "x")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def grouped(value: str) -> str:
    """A thumbprint in groups of four, easier to read aloud on the phone."""
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None


# --- export -------------------------------------------------------------------------------------


def partner_card(agency: Agency, at: dt.datetime | None = None) -> dict[str, Any]:
    """The card of an agency (this node's own, in practice) with its currently valid keys."""
    at = at or timezone.now()
    country = agency.country
    names = {}
    for language, _label in settings.LANGUAGES:
        value = getattr(agency, build_localized_fieldname("name", language), None)
        if value:
            names[language] = value
    keys = []
    for key in _valid_keys(agency, at):
        public = {name: key.public_jwk[name] for name in ("kty", "crv", "x")}
        keys.append(
            {
                **public,
                "kid": key.kid,
                "use": key.use,
                "not_before": _iso(key.not_before),
                "not_after": _iso(key.not_after),
                "thumbprint": thumbprint(public),
            }
        )
    contact = {"email": agency.contact_email}
    if agency.contact_phone:
        contact["phone"] = agency.contact_phone
    if agency.website:
        contact["website"] = agency.website
    relay = {"inbox_url": agency.inbox_url, "protocol_versions": [PROTOCOL_VERSION]}
    if agency.is_this_node:
        relay["inbox_url"] = agency.inbox_url or f"{settings.ODR_PUBLIC_URL}/relay/inbox/"
        relay["jwks_url"] = f"{settings.ODR_PUBLIC_URL}/.well-known/jwks.json"
    return {
        "card": CARD_FORMAT,
        "issued_at": _iso(at),
        "agency": {
            "code": agency.code,
            "reference_prefix": agency.reference_prefix,
            "short_name": agency.short_name,
            "name": agency.name,
            "names": names,
        },
        "country": {"code": country.code, "name": country.name, "currency": country.currency},
        "languages": list(agency.languages) or list(country.official_languages) or ["en"],
        "time_zone": country.timezone,
        "working_week": list(country.working_week),
        "contact": contact,
        "relay": relay,
        "keys": keys,
    }


def own_card() -> dict[str, Any]:
    return partner_card(Agency.objects.select_related("country").get(code=settings.ODR_NODE))


# --- import -------------------------------------------------------------------------------------


def parse_card(raw: bytes | str | dict) -> dict[str, Any]:
    """The card as a dict, or CardRefused saying why it cannot be one."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > MAX_CARD_BYTES:
        raise CardRefused(
            _("A partner card is at most %(size)s bytes.") % {"size": MAX_CARD_BYTES},
            code="card_too_large",
        )
    try:
        card = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise CardRefused(_("The file is not JSON: %(error)s") % {"error": error}) from error
    if not isinstance(card, dict):
        raise CardRefused(_("A partner card is a JSON object."))
    return card


def check_card(card: dict[str, Any]) -> None:
    """Every reason to refuse a card, before anything is stored."""
    keys = card.get("keys") if isinstance(card.get("keys"), list) else []
    for jwk in keys:
        if isinstance(jwk, dict) and any(name in jwk for name in PRIVATE_MEMBERS):
            raise CardRefused(
                _(
                    "Key %(kid)s contains private key material. Never send a private key: "
                    "ask the partner for their public card again, and have them replace "
                    "this key, which is no longer secret."
                )
                % {"kid": jwk.get("kid", "?")},
                code="private_key_material",
            )
    problems = schema_errors("partner.card", card)
    if problems:
        raise CardRefused(
            _("The card does not follow the partner card format: %(problems)s")
            % {"problems": "; ".join(problems[:5])},
            code="card_schema_invalid",
            details={"problems": problems},
        )
    code = card["agency"]["code"]
    if code[:2] != card["country"]["code"]:
        raise CardRefused(
            _("Agency code %(code)s does not start with its country %(country)s.")
            % {"code": code, "country": card["country"]["code"]},
            code="card_schema_invalid",
        )
    if code == settings.ODR_NODE:
        raise CardRefused(_("This is this node's own card."), code="own_card")
    if Agency.objects.filter(code=code).exists():
        raise CardRefused(
            _("Agency %(code)s is already known to this node.") % {"code": code},
            code="duplicate_agency",
        )
    prefix = card["agency"]["reference_prefix"]
    if Agency.objects.filter(reference_prefix=prefix).exists():
        raise CardRefused(
            _("Another agency already uses the reference prefix %(prefix)s.") % {"prefix": prefix},
            code="duplicate_agency",
        )
    if PROTOCOL_VERSION not in card["relay"]["protocol_versions"]:
        raise CardRefused(
            _("The partner does not speak protocol version %(version)s.")
            % {"version": PROTOCOL_VERSION},
            code="protocol_version",
        )
    if card["relay"]["inbox_url"].startswith("http://") and not settings.ODR_RELAY_ALLOW_HTTP:
        raise CardRefused(_("The relay inbox URL must be https://."), code="insecure_inbox")
    # One read for every key of the card: the kids already pinned here, and to whom.
    pinned_to = dict(
        AgencyKey.objects.filter(kid__in=[jwk["kid"] for jwk in keys]).values_list(
            "kid", "agency__code"
        )
    )
    seen: set[str] = set()
    for jwk in keys:
        kid, use = jwk["kid"], jwk["use"]
        if jwk["crv"] != CURVES[use]:
            raise CardRefused(
                _("Key %(kid)s is for %(use)s and must be on curve %(curve)s, not %(crv)s.")
                % {"kid": kid, "use": use, "curve": CURVES[use], "crv": jwk["crv"]},
                code="wrong_curve",
            )
        if kid in seen:
            raise CardRefused(
                _("Key id %(kid)s appears twice in the card.") % {"kid": kid},
                code="kid_mismatch",
            )
        seen.add(kid)
        if "thumbprint" in jwk and jwk["thumbprint"] != thumbprint(jwk):
            raise CardRefused(
                _("The thumbprint given for key %(kid)s is not the key's own.") % {"kid": kid},
                code="kid_mismatch",
            )
        if kid in pinned_to:
            raise CardRefused(
                _("Key id %(kid)s is already pinned to %(agency)s.")
                % {"kid": kid, "agency": pinned_to[kid]},
                code="kid_mismatch",
            )
        not_after = jwk.get("not_after")
        if not_after and parse_datetime(not_after) <= parse_datetime(jwk["not_before"]):
            raise CardRefused(
                _("Key %(kid)s expires before it becomes valid.") % {"kid": kid},
                code="card_schema_invalid",
            )
    now = timezone.now()
    for use in ("sig", "enc"):
        if not any(
            jwk["use"] == use
            and (not jwk.get("not_after") or parse_datetime(jwk["not_after"]) > now)
            for jwk in keys
        ):
            raise CardRefused(
                _("The card has no valid %(use)s key.") % {"use": use}, code="missing_key"
            )


@transaction.atomic
def import_partner_card(raw: bytes | str | dict) -> ImportedCard:
    """Store the card's agency as prospective, with its keys pinned; nothing if it is bad."""
    card = parse_card(raw)
    check_card(card)
    country_data = card["country"]
    country, _created = Country.objects.get_or_create(
        code=country_data["code"],
        defaults={
            "name": country_data["name"],
            "currency": country_data["currency"],
            "official_languages": card["languages"],
            "working_week": card["working_week"],
            "timezone": card["time_zone"],
        },
    )
    about = card["agency"]
    names = {
        build_localized_fieldname("name", language): name
        for language, name in (about.get("names") or {}).items()
        if language in dict(settings.LANGUAGES)
    }
    contact = card["contact"]
    agency = Agency.objects.create(
        code=about["code"],
        reference_prefix=about["reference_prefix"],
        short_name=about["short_name"],
        name=about["name"],
        **names,
        country=country,
        languages=card["languages"],
        contact_email=contact["email"],
        contact_phone=contact.get("phone", ""),
        website=contact.get("website", ""),
        inbox_url=card["relay"]["inbox_url"],
        status=Agency.Status.PROSPECTIVE,
    )
    prints = []
    for jwk in card["keys"]:
        public = {name: jwk[name] for name in ("kty", "crv", "x", "kid", "use")}
        not_after = jwk.get("not_after")
        pin_agency_key(
            agency,
            public,
            not_before=parse_datetime(jwk["not_before"]),
            not_after=parse_datetime(not_after) if not_after else None,
        )
        prints.append((jwk["use"], jwk["kid"], thumbprint(jwk)))
    return ImportedCard(agency=agency, thumbprints=prints)


def _valid_keys(agency: Agency, at: dt.datetime) -> list[AgencyKey]:
    """The agency's pinned keys valid at ``at``, by use and kid (as a card lists them)."""
    return [key for key in agency.keys.order_by("use", "kid") if key.is_valid_at(at)]


def key_thumbprints(agency: Agency) -> list[tuple[str, str, str]]:
    """(use, kid, thumbprint) of each currently valid pinned key, to compare out of band."""
    return [
        (key.use, key.kid, thumbprint(key.public_jwk))
        for key in _valid_keys(agency, timezone.now())
    ]


@transaction.atomic
def confirm_partner(agency: Agency, *, by=None) -> Agency:
    """The administrator compared the thumbprints out of band: the partner is no longer
    prospective, and MoUs with it may be activated."""
    agency = Agency.objects.select_for_update().get(pk=agency.pk)
    if agency.is_this_node:
        raise DomainError(_("This node's own agency needs no confirmation."), code="own_card")
    if agency.status != Agency.Status.PROSPECTIVE:
        raise DomainError(
            _("%(code)s is not waiting for confirmation.") % {"code": agency.code},
            code="not_prospective",
        )
    if not key_thumbprints(agency):
        raise DomainError(
            _("%(code)s has no valid pinned keys to confirm.") % {"code": agency.code},
            code="missing_key",
        )
    agency.status = Agency.Status.ACTIVE
    agency.save(update_fields=["status"])
    return agency
