"""Each client has its own request budget; over it the answer is 429 with Retry-After."""

import copy

from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from api.throttling import ApiClientThrottle


def low_rate(rate: str):
    config = copy.deepcopy(settings.REST_FRAMEWORK)
    config["DEFAULT_THROTTLE_RATES"]["api_client"] = rate
    return override_settings(REST_FRAMEWORK=config)


def throttle_key(client) -> str:
    return f"throttle_{ApiClientThrottle.scope}_{client.key_prefix}"


def test_a_client_over_its_rate_gets_429_with_retry_after(make_client):
    busy, _key, busy_http = make_client("Busy marketplace")
    calm, _key, calm_http = make_client("Calm portal")
    # Never cache.clear(): the cache may be a Redis shared with others. Only our keys go.
    cache.delete_many([throttle_key(busy), throttle_key(calm)])
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
        # Another client's budget is its own.
        assert calm_http.get("/api/v1/reference-data/").status_code == 200
    cache.delete_many([throttle_key(busy), throttle_key(calm)])
