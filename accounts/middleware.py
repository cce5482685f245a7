"""Supervisors and agency admins reach staff pages only after confirming a one-time code."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from . import selectors

GUARDED = ("/casework/", "/admin/")


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and request.path.startswith(GUARDED)
            and request.path not in _open_paths()
            and not user.is_verified()
            and selectors.requires_two_factor(user)
        ):
            target = reverse("accounts:two_factor")
            return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


def _open_paths() -> set[str]:
    return {reverse("casework:logout"), reverse("admin:logout")}
