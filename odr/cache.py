"""Django's Redis cache, keeping one redis-py client per connection pool, plus a request log.

Django's backend builds a new ``redis.Redis`` for every cache call, and building one (its table
of response callbacks) cost about as much CPU as the call itself: two calls per API request for
the throttle alone. A client is thread-safe and takes its connections from the pool (which
reconnects after a fork), so one per pool and process is enough. Keys are not checked for
memcached's limits: this is not memcached.

``RedisCache.throttle_hit`` counts a request against a limit per period in one Redis call, for
the API throttle.
"""

from __future__ import annotations

import secrets
import time

from django.core.cache.backends import redis as django_redis

# The sliding log of DRF's SimpleRateThrottle (the times of the requests allowed in the last
# period; allowed while there are fewer than the limit; refused requests are not logged), kept
# as a sorted set and checked and written atomically by one script. KEYS: the log. ARGV: now,
# the oldest time still in the period, the limit, a unique member for this request, the log's
# lifetime in milliseconds. Returns {allowed, requests in the period, oldest time when refused}.
THROTTLE_HIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, count, oldest[2]}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, count + 1}
"""


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._scripts = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def script(self, source: str):
        """A registered Lua script on the write client (EVALSHA, loaded again if Redis lost it)."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.get_client(write=True).register_script(source)
        return script


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def validate_key(self, key):
        """No memcached portability warnings: Redis takes any key, and the check looks at every
        character of the key on every call (about half of a mark's CPU, on every commit)."""

    def throttle_hit(
        self, key: str, limit: int, duration: int, now: float | None = None
    ) -> tuple[bool, float | None]:
        """Log one request under ``key`` if fewer than ``limit`` were logged in the last
        ``duration`` seconds, as DRF's ``SimpleRateThrottle`` does, but in one atomic call.

        Returns (allowed, seconds to wait when refused, as DRF's ``wait()`` computes them).
        """
        now = time.time() if now is None else now
        result = self._cache.script(THROTTLE_HIT)(
            keys=[self.make_and_validate_key(key)],
            args=[
                repr(now),
                repr(now - duration),
                limit,
                f"{now!r}:{secrets.token_hex(4)}",
                int(duration * 1000) + 1000,
            ],
        )
        if result[0]:
            return True, None
        count, oldest = int(result[1]), float(result[2])
        available = limit - count + 1
        if available <= 0:
            return False, None  # the limit was lowered below what the period already holds
        return False, (duration - (now - oldest)) / available
