"""Rate limit per API client (setting REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_client"]).

DRF's ``SimpleRateThrottle`` semantics (a sliding log: at most N requests in any period; refused
requests are not counted; Retry-After until the oldest leaves the period). With the Redis cache
(``odr.cache.RedisCache``) the log is a sorted set, checked and written by one atomic Redis
call, instead of DRF's read of the pickled list of times, and write-back of all of it, on every
request (two calls, and racy under concurrent requests). Other caches use DRF's implementation.
While Redis is down each process keeps the log itself (``odr.cache.hit_limit``): the limit still
holds, per process, and a request is never refused or failed because Redis is away.
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from odr.cache import hit_limit

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

    def allow_request(self, request, view) -> bool:
        hit = getattr(self.cache, "throttle_hit", None)
        if hit is None:
            return super().allow_request(request, view)
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        # A key of its own: DRF's pickled list under the plain key is another Redis type.
        allowed, self._wait = hit_limit(
            f"{key}:log", self.num_requests, self.duration, cache=self.cache
        )
        return allowed

    def wait(self) -> float | None:
        if hasattr(self, "_wait"):
            return self._wait
        return super().wait()
