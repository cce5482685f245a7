"""API key authentication: ``Authorization: Api-Key <key>`` or ``X-API-Key: <key>``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from . import services

KEYWORD = "Api-Key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        key = request.headers.get("X-API-Key", "")
        header = request.headers.get("Authorization", "")
        if not key and header:
            keyword, _sep, value = header.partition(" ")
            if keyword.lower() != KEYWORD.lower():
                return None
            key = value.strip()
        if not key:
            return None
        client = services.authenticate_key(key)
        if client is None:
            raise exceptions.AuthenticationFailed(
                _("The API key is not valid, or its client has been deactivated."),
                code="invalid_api_key",
            )
        return (client, key)

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) when the key is missing.
        return KEYWORD


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Either header, as ``ApiKeyAuthentication`` accepts them: two alternative schemes."""

    target_class = ApiKeyAuthentication
    name = ["ApiKey", "ApiKeyHeader"]

    def get_security_requirement(self, auto_schema):
        return [{"ApiKey": []}, {"ApiKeyHeader": []}]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Authorization: Api-Key <key>`, with the key issued once when "
                "the client was created (the value is the word Api-Key, a space and the key).",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "`X-API-Key: <key>`: the same key in a header of its own.",
            },
        ]
