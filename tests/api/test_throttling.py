"""Each client has its own request budget; over it the answer is 429 with Retry-After."""

import copy
import threading
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.test import RequestFactory, override_settings

from api.throttling import ApiClientThrottle


def low_rate(rate: str):
    config = copy.deepcopy(settings.REST_FRAMEWORK)
    config["DEFAULT_THROTTLE_RATES"]["api_client"] = rate
    return override_settings(REST_FRAMEWORK=config)


def test_a_client_over_its_rate_gets_429_with_retry_after(make_client):
    # Counts are kept under each client's random key prefix and expire by themselves, so no
    # Redis key needs clearing (never cache.clear(): the Redis may be shared with others).
    _busy, _key, busy_http = make_client("Busy marketplace")
    _calm, _key, calm_http = make_client("Calm portal")
    with low_rate("3/min"):
        statuses = [busy_http.get("/api/v1/reference-data/").status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        refused = busy_http.get("/api/v1/reference-data/")
        assert refused.status_code == 429
        retry_after = int(refused["Retry-After"])
        assert 1 <= retry_after <= 60
        error = refused.json()["error"]
        assert error["code"] == "throttled"
        assert error["details"]["retry_after"] == retry_after
        # Refused requests are not counted: the next one is refused the same way.
        assert busy_http.get("/api/v1/reference-data/").status_code == 429
        # Another client's budget is its own.
        assert calm_http.get("/api/v1/reference-data/").status_code == 200


def test_the_throttle_keeps_drfs_sliding_log_in_redis(broker):
    # The test settings use the Redis cache, as production does.
    assert hasattr(cache, "throttle_hit")
    key = f"test-throttle-{uuid.uuid4()}"
    start = time.time()
    # Three allowed in a minute: at 0, 10 and 20 s; the fourth, at 30 s, is refused until the
    # first leaves the period, 30 s later (DRF's wait: 60 − (30 − 0)).
    assert cache.throttle_hit(key, 3, 60, now=start) == (True, None)
    assert cache.throttle_hit(key, 3, 60, now=start + 10) == (True, None)
    assert cache.throttle_hit(key, 3, 60, now=start + 20) == (True, None)
    allowed, wait = cache.throttle_hit(key, 3, 60, now=start + 30)
    assert not allowed and abs(wait - 30) < 1e-3
    # Refused requests are not logged: one second before the first leaves, still refused ...
    allowed, wait = cache.throttle_hit(key, 3, 60, now=start + 59)
    assert not allowed and abs(wait - 1) < 1e-3
    # ... and exactly 60 s after it, as DRF drops a time <= now - period, there is room again.
    assert cache.throttle_hit(key, 3, 60, now=start + 60) == (True, None)
    allowed, wait = cache.throttle_hit(key, 3, 60, now=start + 61)
    assert not allowed and abs(wait - 9) < 1e-3  # the request at 10 s leaves at 70 s
    # A lowered limit that the period already exceeds: refused, with no wait to offer (DRF's).
    assert cache.throttle_hit(key, 1, 60, now=start + 62) == (False, None)


def test_concurrent_requests_never_pass_the_limit(broker):
    key = f"test-throttle-{uuid.uuid4()}"
    allowed = []
    barrier = threading.Barrier(8)

    def hit():
        barrier.wait(timeout=10)
        for _ in range(10):
            allowed.append(cache.throttle_hit(key, 25, 3600)[0])

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert allowed.count(True) == 25 and len(allowed) == 80


def test_other_cache_backends_use_drfs_own_throttle(make_client):
    client, _key, _http = make_client()

    class LocalThrottle(ApiClientThrottle):
        cache = LocMemCache(f"throttle-{uuid.uuid4()}", {})

    request = RequestFactory().get("/api/v1/reference-data/")
    request.user = client
    with low_rate("2/min"):
        results = [LocalThrottle().allow_request(request, None) for _ in range(3)]
        throttle = LocalThrottle()
        assert not throttle.allow_request(request, None)
        assert 0 < throttle.wait() <= 60
    assert results == [True, True, False]
