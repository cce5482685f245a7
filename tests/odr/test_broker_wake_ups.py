"""A wake-up published while the broker is down fails at once, and so does the next for a few
seconds without trying (each request would wait for its own refused connection otherwise); once
the broker is back, wake-ups reach it again. The broker is a Redis of the test's own."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import kombu.exceptions
import pytest
import redis
from django.conf import settings as django_settings

from odr import embedded
from odr.celery import BROKER_ERRORS, publish
from odr.celery import app as celery_app
from portal.tasks import send_pending_notifications
from tests.relay.test_broker_down import _use_broker


@pytest.fixture
def own_broker(settings):
    directory = Path(tempfile.mkdtemp(prefix="odr-broker-", dir="/tmp"))
    url = embedded.start(directory)
    saved = celery_app.conf.broker_url, celery_app.conf.broker_write_url
    _use_broker(url, url)
    settings.ODR_BROKER_RETRY_SECONDS = 0.5
    yield directory
    _use_broker(*saved)
    embedded.stop(directory)
    shutil.rmtree(directory, ignore_errors=True)


def queued(directory: Path) -> int:
    client = redis.Redis(unix_socket_path=str(embedded.socket_path(directory)))
    key = f"{django_settings.ODR_REDIS_KEY_PREFIX}{django_settings.CELERY_TASK_DEFAULT_QUEUE}"
    return client.llen(key)


def test_a_broker_that_went_down_is_not_tried_again_at_once_and_is_used_again_when_back(
    own_broker,
):
    publish(lambda: send_pending_notifications.delay())
    assert queued(own_broker) == 1

    embedded.stop(own_broker)
    with pytest.raises(BROKER_ERRORS) as refused:
        publish(lambda: send_pending_notifications.delay())
    assert "a moment ago" not in str(refused.value)  # this one tried
    with pytest.raises(kombu.exceptions.OperationalError, match="a moment ago"):
        publish(lambda: send_pending_notifications.delay())

    embedded.start(own_broker)
    deadline = time.monotonic() + 15
    while True:
        try:
            publish(lambda: send_pending_notifications.delay())
            break
        except BROKER_ERRORS:
            assert time.monotonic() < deadline, "wake-ups did not reach the broker again"
            time.sleep(0.1)
    assert queued(own_broker) == 1  # the restarted broker lost the first (it was in memory)
