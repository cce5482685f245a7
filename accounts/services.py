"""Staff accounts: invitations, sign-in sessions, deactivation and the second factor."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies import roles
from odr.errors import InvalidInput, NotAllowed

from .models import Invitation, StaffSession

User = get_user_model()
INVITATION_SALT = "accounts.invitation"


class InvitationInvalid(InvalidInput):
    code = "invitation_invalid"


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"invitation": invitation.pk}, salt=INVITATION_SALT)


def invitation_url(invitation: Invitation) -> str:
    path = reverse("accounts:accept_invitation", args=[invitation_token(invitation)])
    return settings.ODR_PUBLIC_URL + path


def _send_invitation(invitation_id: int, language: str) -> None:
    invitation = Invitation.objects.select_related("invited_by").get(pk=invitation_id)
    context = {
        "invitation": invitation,
        "url": invitation_url(invitation),
        "days": settings.ODR_INVITATION_MAX_AGE_DAYS,
    }
    with translation.override(language):
        context["role"] = invitation.get_role_display()
        subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
        body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])


@transaction.atomic
def invite_staff(*, email: str, role: str, invited_by, language: str | None = None) -> Invitation:
    """Invite someone to a role; the email with the link leaves once the invitation is stored."""
    if role not in roles.ROLES:
        raise InvalidInput(_("Choose a role."), code="unknown_role")
    email = User.objects.normalize_email(email).strip()
    if User.objects.filter(email__iexact=email, is_active=True).exists():
        raise InvalidInput(
            _("A staff account with this email address already exists."), code="account_exists"
        )
    now = timezone.now()
    Invitation.objects.filter(email__iexact=email, accepted_at=None, withdrawn_at=None).update(
        withdrawn_at=now
    )
    invitation = Invitation.objects.create(
        email=email,
        role=role,
        invited_by=invited_by,
        created_at=now,
        expires_at=now + timedelta(days=settings.ODR_INVITATION_MAX_AGE_DAYS),
    )
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    transaction.on_commit(lambda: _send_invitation(invitation.pk, language))
    return invitation


def open_invitation(token: str) -> Invitation:
    """The invitation a link names, if the link is genuine, unexpired and unused."""
    max_age = timedelta(days=settings.ODR_INVITATION_MAX_AGE_DAYS)
    try:
        payload = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise InvitationInvalid(
            _("This invitation has expired. Ask your administrator for a new one."),
            code="invitation_expired",
        ) from error
    except signing.BadSignature as error:
        raise InvitationInvalid(_("This invitation link is not valid.")) from error
    invitation = Invitation.objects.filter(pk=payload.get("invitation")).first()
    if invitation is None or invitation.withdrawn_at is not None:
        raise InvitationInvalid(
            _("This invitation has been withdrawn."), code="invitation_withdrawn"
        )
    if invitation.accepted_at is not None:
        raise InvitationInvalid(_("This invitation has already been used."), code="invitation_used")
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid(
            _("This invitation has expired. Ask your administrator for a new one."),
            code="invitation_expired",
        )
    return invitation


@transaction.atomic
def accept_invitation(
    token: str, *, username: str, password: str, first_name: str = "", last_name: str = ""
):
    """Create the invited person's account, in the invitation's role."""
    invitation = open_invitation(token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise InvitationInvalid(_("This invitation has already been used."), code="invitation_used")
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("This username is taken."), code="username_taken")
    user = User(
        username=username,
        email=invitation.email,
        first_name=first_name,
        last_name=last_name,
        is_staff=True,
        is_active=True,
    )
    validate_password(password, user)
    user.set_password(password)
    user.save()
    user.groups.add(roles.get_or_create(invitation.role))
    invitation.accepted_at = timezone.now()
    invitation.user = user
    invitation.save(update_fields=["accepted_at", "user"])
    return user


def withdraw_invitation(invitation: Invitation) -> Invitation:
    if invitation.accepted_at is None and invitation.withdrawn_at is None:
        invitation.withdrawn_at = timezone.now()
        invitation.save(update_fields=["withdrawn_at"])
    return invitation


def record_session(user, session: SessionBase) -> None:
    if session.session_key is None:
        session.save()
    StaffSession.objects.get_or_create(session_key=session.session_key, defaults={"user": user})


def end_sessions(user) -> int:
    """Delete every session the user signed in with; their next request is signed out."""
    engine = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"])
    ended = 0
    for staff_session in StaffSession.objects.filter(user=user):
        engine.SessionStore(session_key=staff_session.session_key).delete()
        ended += 1
    StaffSession.objects.filter(user=user).delete()
    return ended


@transaction.atomic
def deactivate_staff(user, *, by) -> int:
    """Stop an account from signing in and end the sessions it is signed in with now."""
    if user.pk == by.pk:
        raise NotAllowed(_("You cannot deactivate your own account."), code="own_account")
    ended = StaffSession.objects.filter(user=user).count()
    user.is_active = False
    user.save(update_fields=["is_active"])  # accounts.signals ends its sessions
    return ended


def start_totp_setup(user) -> TOTPDevice:
    """The user's unconfirmed authenticator (made now if there is none) to scan and confirm."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(
        user=user, name=_("Authenticator app"), confirmed=False
    )


def check_code(device: TOTPDevice, token: str) -> str | None:
    """None when the code is right; otherwise why it was refused, for the person signing in.

    Each wrong code doubles the wait before the next one is checked (django-otp's throttling),
    and a code is accepted once.
    """
    allowed, _details = device.verify_is_allowed()
    if not allowed:
        return _("Too many wrong codes. Wait a minute, then enter the code your app shows.")
    if not device.verify_token(token):
        return _("That code is not right, or it has expired. Try the next one.")
    return None


def confirm_totp_device(device: TOTPDevice, token: str) -> str | None:
    """Confirm a new authenticator with one code from it; None when confirmed, else why not."""
    refused = check_code(device, token)
    if refused:
        return refused
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    return None
