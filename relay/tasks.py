"""Celery tasks of the relay. They take ids, are idempotent, and the database holds the truth."""

from __future__ import annotations

import logging

import kombu.exceptions
import redis.exceptions
from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from . import services

logger = logging.getLogger(__name__)
# What publishing a task raises when the broker is unreachable (kombu wraps most of them in its
# OperationalError; redis-py's and the socket's own come through on some paths).
BROKER_ERRORS = (
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)
# While a delivery task for a partner sits in the queue, neither a commit nor the sweep queues
# another one; if the queue is lost (broker flushed or restarted) the mark expires and the sweep
# queues one again.
QUEUED_MARK_SECONDS = 30


def _mark(recipient_id: int) -> str:
    # Row ids repeat across databases sharing one Redis (tests, several nodes): name the database.
    return f"relay:queued:{settings.DATABASES['default']['NAME']}:{recipient_id}"


def mark_queued(recipient_id: int) -> bool:
    """False if a delivery task for this partner is waiting to run; True (queue one) otherwise."""
    try:
        return bool(cache.add(_mark(recipient_id), 1, timeout=QUEUED_MARK_SECONDS))
    except Exception:
        return True


def unmark_queued(recipient_id: int) -> None:
    """After a publish that failed, or when the task starts: the next commit queues another."""
    try:
        cache.delete(_mark(recipient_id))
    except Exception:
        logger.debug("cache unavailable; the queued mark will expire by itself")


@shared_task(acks_late=True, ignore_result=True)
def deliver_to_partner(recipient_id: int) -> int:
    """Deliver everything due to one partner, in batches, until nothing is due.

    The mark is cleared before the first claim, so a packet committed while this task runs
    either is claimed by it or queues a task of its own: none waits for the sweep.
    """
    unmark_queued(recipient_id)
    attempted = 0
    while count := services.deliver_due(recipient_id):
        attempted += count
    return attempted


@shared_task(acks_late=True, ignore_result=True)
def deliver_packet(packet_id: int) -> str | None:
    """One delivery attempt of one outbound packet, if it is due."""
    return services.deliver(packet_id)


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    """Wake delivery to every partner with a packet due: lost tasks and flushed brokers lose
    nothing. Returns how many delivery tasks it queued."""
    queued = 0
    for recipient_id in services.due_recipient_ids():
        if mark_queued(recipient_id):
            deliver_to_partner.delay(recipient_id)
            queued += 1
    return queued


@shared_task(ignore_result=True)
def apply_waiting_packets() -> int:
    return services.apply_waiting_packets()
