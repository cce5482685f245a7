"""The cache degrades to no cache while its Redis is down, and counters keep counting in the
process; a real Redis of the test's own (never the shared one) is stopped and started."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest
from django.test import Client

from odr import embedded
from odr.cache import CacheUnavailable, LocalLimits, RedisCache, hit_limit
from tests.odr.test_security_headers import header_problems


@pytest.fixture
def own_redis():
    """A private Redis on a unix socket (short path: a socket path may have 107 characters)."""
    directory = Path(tempfile.mkdtemp(prefix="odr-redis-", dir="/tmp"))
    embedded.start(directory)
    yield directory
    embedded.stop(directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def cache(own_redis, settings):
    settings.ODR_CACHE_RETRY_SECONDS = 0.5
    location = "unix://" + str(embedded.socket_path(own_redis))
    return RedisCache(
        location,
        {"KEY_PREFIX": "test", "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2}},
    )


def test_without_redis_the_cache_is_no_cache_and_comes_back_with_it(cache, own_redis):
    cache.set("kept", "before")
    assert cache.get("kept") == "before"

    embedded.stop(own_redis)
    assert cache.get("kept", "missing") == "missing"
    cache.set("lost", "during")  # no error: dropped
    assert cache.add("mark", 1) is True  # as a dummy cache: whoever asks may go ahead
    assert cache.get_many(["kept", "lost"]) == {}
    assert cache.delete("kept") is False
    with pytest.raises(CacheUnavailable):
        cache.incr("counter")
    with pytest.raises(CacheUnavailable):
        cache.throttle_hit("log", 5, 60)
    # Not asked again at once: a request does not wait for a refused connection each time.
    assert not cache.available

    embedded.start(own_redis)

    def back() -> bool:
        cache.set("lost", "after")
        return cache.get("lost") == "after"

    deadline = time.monotonic() + 10
    while not back():
        assert time.monotonic() < deadline, "the cache did not come back with Redis"
        time.sleep(0.1)
    assert cache.available
    assert cache.add("lost", "again") is False  # a real add again: the key is there


def test_a_limit_counts_in_redis_and_in_the_process_while_redis_is_down(cache, own_redis):
    assert [hit_limit("client", 3, 60, cache=cache)[0] for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    embedded.stop(own_redis)
    hits = [hit_limit("other client", 3, 60, cache=cache) for _ in range(4)]
    assert [allowed for allowed, _wait in hits] == [True, True, True, False]
    assert 0 < hits[-1][1] <= 60  # when to try again


def test_the_local_log_lets_requests_through_again_as_the_period_passes():
    limits = LocalLimits()
    assert limits.hit("k", 2, 10, now=100.0) == (True, None)
    assert limits.hit("k", 2, 10, now=101.0) == (True, None)
    allowed, wait = limits.hit("k", 2, 10, now=105.0)
    assert not allowed and wait == pytest.approx(5.0)
    assert limits.hit("k", 2, 10, now=110.5) == (True, None)


def test_an_api_call_that_needs_redis_while_it_is_down_is_a_503_with_retry_after(
    cache, own_redis, settings, db
):
    settings.ROOT_URLCONF = "tests.odr.failing_urls"
    settings.CACHES = {
        "default": {
            "BACKEND": "odr.cache.RedisCache",
            "LOCATION": "unix://" + str(embedded.socket_path(own_redis)),
            "KEY_PREFIX": "test",
        }
    }
    assert Client().get("/api/counter/").json() == {"count": 1}
    embedded.stop(own_redis)

    response = Client().get("/api/counter/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["error"]["code"] == "temporarily_unavailable"
    assert header_problems(response) == []
