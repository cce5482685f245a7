"""Staff account pages: accept an invitation, set up and enter the second factor, reset a
password. Thin: forms clean input, services change things."""

from __future__ import annotations

import base64

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login

from odr.errors import DomainError

from . import selectors, services
from .forms import AcceptInvitationForm, TokenForm


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("casework:queue")


@never_cache
@sensitive_post_parameters("password1", "password2")
def accept_invitation(request, token: str):
    try:
        invitation = services.open_invitation(token)
    except services.InvitationInvalid as error:
        return render(
            request, "accounts/invitation_invalid.html", {"error": error.message}, status=410
        )
    form = AcceptInvitationForm(request.POST or None, invitation=invitation)
    if request.method == "POST" and form.is_valid():
        try:
            services.accept_invitation(
                token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Your account is ready. Sign in with it now."))
            return redirect("casework:login")
    return render(
        request,
        "accounts/accept_invitation.html",
        {"form": form, "invitation": invitation, "role": invitation.get_role_display()},
    )


@never_cache
@login_required
def two_factor(request):
    """The second step of signing in: a code from the authenticator app."""
    device = selectors.confirmed_device(request.user)
    if device is None:
        return redirect(f"{reverse('accounts:two_factor_setup')}?{request.GET.urlencode()}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        refused = services.check_code(device, form.cleaned_data["token"])
        if refused is None:
            otp_login(request, device)
            return redirect(_next(request))
        form.add_error("token", refused)
    return render(request, "accounts/two_factor.html", {"form": form, "next": _next(request)})


@never_cache
@login_required
def two_factor_setup(request):
    """First sign-in of a supervisor or admin: scan the code, then confirm one code from it."""
    if selectors.confirmed_device(request.user) is not None:
        return redirect(f"{reverse('accounts:two_factor')}?{request.GET.urlencode()}")
    device = services.start_totp_setup(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        refused = services.confirm_totp_device(device, form.cleaned_data["token"])
        if refused is None:
            otp_login(request, device)
            messages.success(request, _("Two-factor sign-in is set up."))
            return redirect(_next(request))
        form.add_error("token", refused)
    secret = base64.b32encode(device.bin_key).decode()
    qr = segno.make(device.config_url, error="m")
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "next": _next(request),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "qr_svg": qr.svg_inline(scale=5, title=_("Code to scan with your authenticator app")),
        },
    )


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


def locked_out(request, original_response=None, credentials=None):
    """What django-axes answers while an account is locked for the caller's address."""
    from django.conf import settings

    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return render(
        request,
        "accounts/locked_out.html",
        {"cooloff_minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
