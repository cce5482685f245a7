"""The node's Celery app: one per node, its queues prefixed by the node's agency code."""

import os
import time
from collections.abc import Callable

import kombu.exceptions
import redis.exceptions
from celery import Celery
from celery.signals import beat_init, task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "odr.settings")

app = Celery("odr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# What publishing a task raises when the broker is unreachable (kombu wraps most of them in its
# OperationalError; redis-py's and the socket's own come through on some paths). A wake-up that
# fails with one of these is logged and left to the beat's sweeps: the database holds the work.
BROKER_ERRORS = (
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)

# Broker URL -> time.monotonic() until which a wake-up is not tried after one failed.
_broker_down_until: dict[str, float] = {}


def publish(send: Callable[[], object]) -> None:
    """Run ``send`` (a task's ``delay`` or ``apply_async``), unless publishing to this broker failed
    less than ``ODR_BROKER_RETRY_SECONDS`` ago: then raise at once, so that while the broker is
    down each request does not wait for its own refused or timed-out connection.

    Raises one of ``BROKER_ERRORS`` when the broker is (or was a moment ago) unreachable.
    """
    from django.conf import settings

    broker = str(app.conf.broker_url)
    if not app.conf.task_always_eager and time.monotonic() < _broker_down_until.get(broker, 0):
        raise kombu.exceptions.OperationalError("the broker was unreachable a moment ago")
    try:
        send()
    except BROKER_ERRORS:
        _broker_down_until[broker] = time.monotonic() + settings.ODR_BROKER_RETRY_SECONDS
        raise
    _broker_down_until.pop(broker, None)


@worker_init.connect
def _warm_up(**_kwargs) -> None:
    # Before the pool starts, so prefork children inherit what was loaded.
    from odr.warmup import warm_up

    warm_up()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task=None, **_kwargs) -> None:
    # Django's request_started/request_finished handling, for tasks: a connection past
    # CONN_MAX_AGE or left broken is closed, a good one is kept (CELERY_DB_REUSE_MAX keeps
    # Celery from closing it). Not for an eager task, which runs inside its caller's transaction.
    if task is not None and not getattr(task.request, "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()


@task_prerun.connect
def _log_task_id(task_id=None, task=None, **_kwargs) -> None:
    # Every log line of the task carries its id (odr/logs.py); an eager task keeps its caller's.
    if task is not None and not getattr(task.request, "is_eager", False):
        from odr.logs import task_id as current_task_id

        current_task_id.set(task_id or "")


@task_postrun.connect
def _forget_task_id(task=None, **_kwargs) -> None:
    if task is not None and not getattr(task.request, "is_eager", False):
        from odr.logs import packet_id, task_id

        task_id.set("")
        packet_id.set("")


@beat_init.connect
def _one_beat_per_node(**_kwargs) -> None:
    # Blocks until this beat holds the node's beat lock (odr/beatlock.py).
    from odr.beatlock import hold_for_this_beat

    hold_for_this_beat()
