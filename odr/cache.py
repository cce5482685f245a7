"""Django's Redis cache, keeping one redis-py client per connection pool.

Django's backend builds a new ``redis.Redis`` for every cache call, and building one (its table
of response callbacks) cost about as much CPU as the call itself: two calls per API request for
the throttle alone. A client is thread-safe and takes its connections from the pool (which
reconnects after a fork), so one per pool and process is enough.
"""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
