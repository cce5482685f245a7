"""Shared fixtures. In CI (CI=true) PostgreSQL and Redis must be there: a missing service fails."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from odr import embedded


def pytest_configure(config):
    if os.environ.get("CI") == "true":
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            raise pytest.UsageError("CI=true: DATABASE_URL must point at PostgreSQL, not " + engine)
        if not settings.CELERY_BROKER_URL.startswith("redis://"):
            raise pytest.UsageError("CI=true: CELERY_BROKER_URL must point at the Redis service")


@pytest.fixture(scope="session", autouse=True)
def broker():
    """The Celery broker and cache: the CI Redis, or an embedded one started for this run."""
    import redis

    url = settings.CELERY_BROKER_URL
    if url.startswith("redis+socket://"):
        embedded.start(settings.ODR_DATA_DIR)
        client = redis.Redis(unix_socket_path=url.removeprefix("redis+socket://"))
    else:
        client = redis.Redis.from_url(url)
    client.ping()  # fails the run, never skips, when the broker is missing
    yield url


@pytest.fixture
def seeded(db):
    """Countries, holidays, BPKN, KCA, UK ICC and their MoUs, as `make demo` seeds them."""
    from agencies.models import Agency
    from agencies.seed import seed_reference_data

    if not Agency.objects.filter(code="ID-BPKN").exists():
        seed_reference_data()
    return {agency.code: agency for agency in Agency.objects.all()}


@pytest.fixture
def caseworker(db, seeded):
    from tests.factories import CaseworkerFactory

    return CaseworkerFactory()
