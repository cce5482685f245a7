"""Writes about agencies and MoUs: onboarding partners, pinning keys, MoU status changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from odr.errors import DomainError, IllegalTransition, InvalidInput

from .models import Agency, AgencyKey, MoU, MoUStatusChange

MOU_TRANSITIONS: dict[str, set[str]] = {
    MoU.Status.DRAFT: {MoU.Status.ACTIVE, MoU.Status.TERMINATED},
    MoU.Status.ACTIVE: {MoU.Status.SUSPENDED, MoU.Status.TERMINATED},
    MoU.Status.SUSPENDED: {MoU.Status.ACTIVE, MoU.Status.TERMINATED},
    MoU.Status.TERMINATED: set(),
}


@transaction.atomic
def create_mou(*, first: Agency, second: Agency, reference: str, title: str, **fields: Any) -> MoU:
    """Create an MoU in draft; the parties are stored in canonical order."""
    if first.pk == second.pk:
        raise DomainError(_("An MoU needs two different agencies."), code="mou_same_agency")
    categories = fields.pop("categories", None)
    status = fields.pop("status", MoU.Status.DRAFT)
    low, high = sorted([first, second], key=lambda agency: agency.pk)
    mou = MoU.objects.create(
        agency_a=low, agency_b=high, reference=reference, title=title, **fields
    )
    if categories:
        mou.categories.set(categories)
    MoUStatusChange.objects.create(mou=mou, from_status="", to_status=MoU.Status.DRAFT)
    if status != MoU.Status.DRAFT:
        change_mou_status(mou, status)
    return mou


@transaction.atomic
def change_mou_status(mou: MoU, to_status: str, *, by=None, note: str = "") -> MoU:
    """Move an MoU to a new status and record who did it; an active MoU needs a signature."""
    mou = MoU.objects.select_for_update().get(pk=mou.pk)
    if to_status not in MOU_TRANSITIONS[mou.status]:
        raise IllegalTransition(
            _("An MoU cannot go from %(from)s to %(to)s.") % {"from": mou.status, "to": to_status},
            code="illegal_mou_transition",
        )
    if to_status == MoU.Status.ACTIVE and not (mou.signed_on and mou.effective_from):
        raise DomainError(
            _("An MoU can only become active once it is signed and has an effective date."),
            code="mou_not_signed",
        )
    if to_status == MoU.Status.ACTIVE:
        from .selectors import mous_between

        unconfirmed = [
            party.code
            for party in (mou.agency_a, mou.agency_b)
            if party.status == Agency.Status.PROSPECTIVE and not party.is_this_node
        ]
        if unconfirmed:
            raise DomainError(
                _(
                    "%(codes)s is still prospective: compare its key thumbprints and confirm "
                    "the partner before activating the MoU."
                )
                % {"codes": ", ".join(unconfirmed)},
                code="partner_not_confirmed",
            )

        clash = (
            mous_between(mou.agency_a, mou.agency_b)
            .filter(status=MoU.Status.ACTIVE)
            .exclude(pk=mou.pk)
            .first()
        )
        if clash:
            raise DomainError(
                _("%(reference)s is already active between these agencies.")
                % {"reference": clash.reference},
                code="mou_already_active",
            )
    MoUStatusChange.objects.create(
        mou=mou, from_status=mou.status, to_status=to_status, changed_by=by, note=note
    )
    mou.status = to_status
    mou.save(update_fields=["status"])
    return mou


def _validate_public_jwk(jwk: dict, use: str) -> None:
    if any(name in jwk for name in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise DomainError(_("Only public keys may be pinned."), code="private_key_material")
    expected = {"sig": ("OKP", "Ed25519"), "enc": ("OKP", "X25519")}[use]
    if (jwk.get("kty"), jwk.get("crv")) != expected:
        raise DomainError(
            _("A %(use)s key must be kty=%(kty)s crv=%(crv)s.")
            % {"use": use, "kty": expected[0], "crv": expected[1]},
            code="unsupported_key_type",
        )
    if not jwk.get("kid") or not jwk.get("x"):
        raise DomainError(_("A key needs a kid and a public value x."), code="invalid_key")


@transaction.atomic
def pin_agency_key(
    agency: Agency,
    jwk: dict,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> AgencyKey:
    """Pin one public key of an agency (from onboarding or a ``partner.keys`` rotation)."""
    use = jwk.get("use")
    if use not in ("sig", "enc"):
        raise DomainError(_("A key must say whether it is for sig or enc."), code="invalid_key")
    _validate_public_jwk(jwk, use)
    public = {name: jwk[name] for name in ("kty", "crv", "x", "kid", "use", "alg") if name in jwk}
    existing = AgencyKey.objects.filter(kid=jwk["kid"]).first()
    if existing:
        if existing.agency_id != agency.pk or existing.public_jwk.get("x") != jwk["x"]:
            raise DomainError(
                _("Key id %(kid)s is already pinned to a different key.") % {"kid": jwk["kid"]},
                code="kid_conflict",
            )
        return existing
    return AgencyKey.objects.create(
        agency=agency,
        kid=jwk["kid"],
        use=use,
        public_jwk=public,
        not_before=not_before or timezone.now(),
        not_after=not_after,
    )


def pin_agency_jwks(agency: Agency, jwks: dict) -> list[AgencyKey]:
    return [pin_agency_key(agency, jwk) for jwk in jwks.get("keys", [])]


@transaction.atomic
def revoke_agency_key(key: AgencyKey, *, reason: str = "") -> AgencyKey:
    """Stop trusting a key at once: packets signed with it are refused from now, even those
    already on their way or waiting in the inbox for an earlier packet."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.revocation_reason = reason.strip()
        key.save(update_fields=["revoked_at", "revocation_reason"])
    return key


# --- MoU status changes with a reason (the onboarding flow) -----------------------------------


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give a reason for the change."), code="reason_required")
    return reason


def _announce(mou: MoU, reason: str) -> MoU:
    from .signals import mou_status_changed

    mou_status_changed.send(sender=MoU, mou=mou, reason=reason)
    return mou


@transaction.atomic
def activate_mou(mou: MoU, *, by=None, reason: str) -> MoU:
    """Activate a draft MoU: the partner is confirmed and answered a ping since the last key
    change on either side."""
    from .selectors import ping_is_current

    reason = _reason(reason)
    mou = MoU.objects.select_for_update().get(pk=mou.pk)
    if mou.status == MoU.Status.DRAFT and not ping_is_current(mou):
        raise DomainError(
            _(
                "Run the connectivity check first: the partner has not answered a ping since "
                "the last key change."
            ),
            code="ping_required",
        )
    return _announce(change_mou_status(mou, MoU.Status.ACTIVE, by=by, note=reason), reason)


@transaction.atomic
def suspend_mou(mou: MoU, *, by=None, reason: str) -> MoU:
    """No new forwards under the MoU; cases already shared continue in both directions."""
    reason = _reason(reason)
    return _announce(change_mou_status(mou, MoU.Status.SUSPENDED, by=by, note=reason), reason)


@transaction.atomic
def resume_mou(mou: MoU, *, by=None, reason: str) -> MoU:
    reason = _reason(reason)
    mou = MoU.objects.select_for_update().get(pk=mou.pk)
    if mou.status != MoU.Status.SUSPENDED:
        raise IllegalTransition(
            _("Only a suspended MoU can be resumed."), code="illegal_mou_transition"
        )
    return _announce(change_mou_status(mou, MoU.Status.ACTIVE, by=by, note=reason), reason)


@transaction.atomic
def terminate_mou(mou: MoU, *, by=None, reason: str, grace: dt.timedelta = dt.timedelta(0)) -> MoU:
    """No new forwards; packets for cases already shared are accepted for ``grace`` more, then
    refused."""
    reason = _reason(reason)
    if grace < dt.timedelta(0):
        raise InvalidInput(_("The grace period cannot be negative."), code="invalid_grace")
    mou = change_mou_status(mou, MoU.Status.TERMINATED, by=by, note=reason)
    mou.packets_accepted_until = timezone.now() + grace
    mou.save(update_fields=["packets_accepted_until"])
    return _announce(mou, reason)


# --- a new node's own agency ---------------------------------------------------------------


@transaction.atomic
def register_own_agency(
    *,
    code: str,
    reference_prefix: str,
    short_name: str,
    name: str,
    country_code: str,
    country_name: str,
    currency: str,
    time_zone: str,
    working_week: list[int],
    languages: list[str],
    contact_email: str,
    contact_phone: str = "",
    website: str = "",
    inbox_url: str = "",
) -> Agency:
    """The agency a new node serves (``ODR_NODE``), with its country if this node lacks it: a
    node for an agency the project never heard of, set up from its own documents."""
    from django.conf import settings
    from django.core.exceptions import ValidationError

    from .models import Country
    from .seed import seed_holidays

    if code != settings.ODR_NODE:
        raise InvalidInput(
            _("This node serves %(node)s, not %(code)s.")
            % {"node": settings.ODR_NODE, "code": code},
            code="not_this_node",
        )
    if Agency.objects.filter(code=code).exists():
        raise DomainError(_("%(code)s is already set up.") % {"code": code}, code="exists")
    country, created = Country.objects.get_or_create(
        code=country_code,
        defaults={
            "name": country_name,
            "currency": currency,
            "official_languages": languages,
            "working_week": working_week,
            "timezone": time_zone,
        },
    )
    if created:
        year = timezone.now().year
        seed_holidays(country, range(year - 1, year + 3), {})
    agency = Agency(
        code=code,
        reference_prefix=reference_prefix,
        short_name=short_name,
        name=name,
        country=country,
        languages=languages,
        contact_email=contact_email,
        contact_phone=contact_phone,
        website=website,
        inbox_url=inbox_url,
        status=Agency.Status.ACTIVE,
    )
    try:
        agency.full_clean()
    except ValidationError as error:
        raise InvalidInput(
            "; ".join(
                f"{field}: {' '.join(errors)}" for field, errors in error.message_dict.items()
            ),
            code="invalid",
        ) from error
    agency.save()
    return agency
