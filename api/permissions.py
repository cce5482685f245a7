"""Scopes: each endpoint needs the client to hold one, e.g. ``disputes:create``."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions

from .models import ApiClient


class HasScope(permissions.BasePermission):
    """Requires an API client holding the view's ``required_scopes[method]``."""

    def has_permission(self, request, view) -> bool:
        client = request.user
        if not isinstance(client, ApiClient):
            raise exceptions.NotAuthenticated()
        # An empty scope: any active client may call (reference data, coverage).
        scope = getattr(view, "required_scopes", {}).get(request.method, "")
        if scope and not client.has_scope(scope):
            raise exceptions.PermissionDenied(
                _("This API client lacks the scope %(scope)s.") % {"scope": scope},
                code="missing_scope",
            )
        return True
