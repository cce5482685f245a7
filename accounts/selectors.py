from __future__ import annotations

from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies import roles


def requires_two_factor(user) -> bool:
    """Supervisors and agency admins sign in with a one-time code as well as their password."""
    if not user.is_authenticated:
        return False
    cached = getattr(user, "_odr_requires_two_factor", None)
    if cached is None:
        cached = user.groups.filter(name__in=roles.group_names(roles.TWO_FACTOR_ROLES)).exists()
        user._odr_requires_two_factor = cached
    return cached


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()
