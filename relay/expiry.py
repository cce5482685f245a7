"""The scheduled check that warns administrators before a key stops being valid: this node's
own keys (rotate in time) and partners' pinned keys (ask the partner to rotate)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from agencies import roles
from agencies.models import AgencyKey


def administrators_to_warn() -> list[str]:
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    admins = users.filter(
        Q(groups__name=roles.GROUPS[roles.AGENCY_ADMIN]) | Q(is_superuser=True)
    ).distinct()
    return sorted(set(admins.values_list("email", flat=True)))


def keys_expiring_soon(now: dt.datetime) -> list[AgencyKey]:
    """Keys whose validity ends within the warning period and that nothing replaces yet (a key
    retired by a rotation has its successor already)."""
    horizon = now + dt.timedelta(days=settings.ODR_KEY_EXPIRY_WARNING_DAYS)
    expiring = list(
        AgencyKey.objects.select_related("agency")
        .filter(revoked_at=None, expiry_warned_at=None, not_after__gt=now, not_after__lte=horizon)
        .order_by("not_after")
    )
    return [key for key in expiring if not _replaced(key)]


def _replaced(key: AgencyKey) -> bool:
    return (
        AgencyKey.objects.filter(agency_id=key.agency_id, use=key.use, revoked_at=None)
        .filter(not_before__gt=key.not_before)
        .filter(Q(not_after=None) | Q(not_after__gt=key.not_after))
        .exists()
    )


def warn_expiring_keys(now: dt.datetime | None = None) -> int:
    """Email the administrators once about every key whose validity ends within the warning
    period; returns how many keys were in the email (0: none sent)."""
    now = now or timezone.now()
    with transaction.atomic():
        expiring = keys_expiring_soon(now)
        recipients = administrators_to_warn()
        if not expiring or not recipients:
            return 0
        own = [key for key in expiring if key.agency.code == settings.ODR_NODE]
        partners = [key for key in expiring if key.agency.code != settings.ODR_NODE]
        with translation.override(settings.LANGUAGE_CODE):
            context = {"own": own, "partners": partners, "node": settings.ODR_NODE}
            subject = render_to_string("relay/email/keys_expiring_subject.txt", context).strip()
            body = render_to_string("relay/email/keys_expiring.txt", context)
        AgencyKey.objects.filter(pk__in=[key.pk for key in expiring]).update(expiry_warned_at=now)
        # In the transaction: if the mail server refuses, the keys are warned about next time.
        send_mail(subject, body, None, recipients)
    return len(expiring)
