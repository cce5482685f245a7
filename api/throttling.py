"""Rate limit per API client (setting REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_client"])."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiClient


class ApiClientThrottle(SimpleRateThrottle):
    scope = "api_client"

    def get_rate(self):
        # Read at request time (not import time) so a changed setting applies at once.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        client = request.user
        if not isinstance(client, ApiClient):
            return None
        # The key prefix is random per client and changes with the key, so counts never carry
        # over between clients, even across databases sharing one Redis.
        return f"throttle_{self.scope}_{client.key_prefix}"
