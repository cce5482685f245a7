"""Django's Redis cache, keeping one redis-py client per connection pool, plus a request log.

Django's backend builds a new ``redis.Redis`` for every cache call, and building one (its table
of response callbacks) cost about as much CPU as the call itself: two calls per API request for
the throttle alone. A client is thread-safe and takes its connections from the pool (which
reconnects after a fork), so one per pool and process is enough. Keys are not checked for
memcached's limits: this is not memcached.

``RedisCache.throttle_hit`` counts a request against a limit per period in one Redis call, for
the API throttle.

Redis only carries wake-ups and what can be lost (docs/architecture.md), so a node keeps serving
without it: while Redis cannot be reached, the cache is no cache (a read misses, a write is
dropped, ``add`` succeeds, as Django's dummy cache does) and is not asked again for
``ODR_CACHE_RETRY_SECONDS``, so that requests do not each wait for a refused connection. Only a
counter cannot pretend: ``incr`` and ``throttle_hit`` raise ``CacheUnavailable``, and
``hit_limit`` then counts in this process alone (``LocalLimits``) until Redis is back.
"""

from __future__ import annotations

import collections
import logging
import secrets
import threading
import time

import redis
from django.conf import settings
from django.core.cache.backends import redis as django_redis
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

# Redis cannot be reached (refused, reset, timed out, still loading its data after a restart).
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class CacheUnavailable(Exception):
    """The shared cache cannot be reached, and the caller needs an answer it cannot make up."""


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
        # One immediate retry (a connection Redis closed by restarting), not redis-py's default
        # of three with backoff, which held every request for seconds while Redis was down.
        self._pool_options.setdefault("retry", Retry(NoBackoff(), 1))
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
        # time.monotonic() until which Redis is not asked again after it could not be reached.
        self._down_until = 0.0

    # --- no cache while Redis is down ---------------------------------------------------------

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _went_down(self, error: Exception) -> None:
        if self.available:
            logger.warning(
                "Redis cannot be reached (%s); serving without the cache for %ss at a time",
                error,
                settings.ODR_CACHE_RETRY_SECONDS,
            )
        self._down_until = time.monotonic() + settings.ODR_CACHE_RETRY_SECONDS

    def _try(self, call, *args, missing=None, **kwargs):
        """``call(*args)``, or ``missing`` when Redis is down (or was a moment ago)."""
        if not self.available:
            return missing
        try:
            return call(*args, **kwargs)
        except REDIS_DOWN as error:
            self._went_down(error)
            return missing

    def _must(self, call, *args, **kwargs):
        """``call(*args)``, or CacheUnavailable when Redis is down: for answers that cannot be
        made up (a counter)."""
        if not self.available:
            raise CacheUnavailable("Redis was not reachable a moment ago")
        try:
            return call(*args, **kwargs)
        except REDIS_DOWN as error:
            self._went_down(error)
            raise CacheUnavailable(str(error)) from error

    def add(self, *args, **kwargs):
        return self._try(super().add, *args, missing=True, **kwargs)

    def get(self, key, default=None, version=None):
        return self._try(super().get, key, default, version, missing=default)

    def set(self, *args, **kwargs):
        self._try(super().set, *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._try(super().touch, *args, missing=False, **kwargs)

    def delete(self, *args, **kwargs):
        return self._try(super().delete, *args, missing=False, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._try(super().get_many, *args, missing={}, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._try(super().has_key, *args, missing=False, **kwargs)

    def set_many(self, data, *args, **kwargs):
        return self._try(super().set_many, data, *args, missing=list(data), **kwargs)

    def delete_many(self, *args, **kwargs):
        self._try(super().delete_many, *args, **kwargs)

    def clear(self):
        return self._try(super().clear, missing=False)

    def incr(self, *args, **kwargs):
        return self._must(super().incr, *args, **kwargs)

    def validate_key(self, key):
        """No memcached portability warnings: Redis takes any key, and the check looks at every
        character of the key on every call (about half of a mark's CPU, on every commit)."""

    def throttle_hit(
        self, key: str, limit: int, duration: int, now: float | None = None
    ) -> tuple[bool, float | None]:
        """Log one request under ``key`` if fewer than ``limit`` were logged in the last
        ``duration`` seconds, as DRF's ``SimpleRateThrottle`` does, but in one atomic call.

        Returns (allowed, seconds to wait when refused, as DRF's ``wait()`` computes them).
        Raises CacheUnavailable when Redis is down (``hit_limit`` then counts locally).
        """
        now = time.time() if now is None else now
        keys = [self.make_and_validate_key(key)]
        arguments = [
            repr(now),
            repr(now - duration),
            limit,
            f"{now!r}:{secrets.token_hex(4)}",
            int(duration * 1000) + 1000,
        ]
        result = self._must(lambda: self._cache.script(THROTTLE_HIT)(keys=keys, args=arguments))
        if result[0]:
            return True, None
        count, oldest = int(result[1]), float(result[2])
        available = limit - count + 1
        if available <= 0:
            return False, None  # the limit was lowered below what the period already holds
        return False, (duration - (now - oldest)) / available


class LocalLimits:
    """The same sliding log as ``THROTTLE_HIT``, in this process's memory: the limits while Redis
    is down (each process then counts on its own, so a client may get up to the limit from
    each)."""

    MAX_KEYS = 10_000

    def __init__(self):
        self._logs: dict[str, collections.deque] = {}
        self._lock = threading.Lock()

    def hit(
        self, key: str, limit: int, duration: float, now: float | None = None
    ) -> tuple[bool, float | None]:
        now = time.time() if now is None else now
        with self._lock:
            log = self._logs.get(key)
            if log is None:
                if len(self._logs) >= self.MAX_KEYS:
                    self._logs.clear()  # an outage long enough to fill it: start afresh
                log = self._logs[key] = collections.deque()
            while log and log[0] <= now - duration:
                log.popleft()
            if len(log) >= limit:
                available = limit - len(log) + 1
                if available <= 0:
                    return False, None
                return False, (duration - (now - log[0])) / available
            log.append(now)
            return True, None


local_limits = LocalLimits()


def hit_limit(key: str, limit: int, duration: float, *, cache=None) -> tuple[bool, float | None]:
    """Count one request under ``key`` against ``limit`` per ``duration`` seconds: in Redis, shared
    by every process of the node, or in this process while Redis is down. Returns (allowed,
    seconds to wait when refused)."""
    if cache is None:
        from django.core.cache import cache
    hit = getattr(cache, "throttle_hit", None)
    if hit is not None:
        try:
            return hit(key, limit, duration)
        except CacheUnavailable:
            pass
    return local_limits.hit(key, limit, duration)
