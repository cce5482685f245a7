"""Celery tasks of the relay. They take ids, are idempotent, and the database holds the truth."""

from __future__ import annotations

import logging

import kombu.exceptions
import redis.exceptions
from celery import shared_task
from django.core.cache import cache

from . import services
from .models import OutboundPacket

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
# While a delivery task for a packet sits in the queue, the sweep does not queue another one; if
# the queue is lost (broker flushed or restarted) the mark expires and the sweep queues it again.
QUEUED_MARK_SECONDS = 60


def _mark(pid: str) -> str:
    # By packet id (a ULID), not row id: row ids repeat across databases sharing one Redis.
    return f"relay:queued:{pid}"


def mark_queued(pid: str) -> bool:
    """False if a task for this packet was queued recently; True (queue one) otherwise."""
    try:
        return bool(cache.add(_mark(pid), 1, timeout=QUEUED_MARK_SECONDS))
    except Exception:
        return True


def unmark_queued(pid: str) -> None:
    """After a publish that failed: the sweep may queue this packet at once."""
    try:
        cache.delete(_mark(pid))
    except Exception:
        logger.debug("cache unavailable; the queued mark will expire by itself")


@shared_task(acks_late=True, ignore_result=True)
def deliver_packet(packet_id: int) -> str | None:
    """One delivery attempt of an outbound packet, if it is due (its retries are rescheduled in
    the database, and the sweep queues them again)."""
    pid = OutboundPacket.objects.filter(pk=packet_id).values_list("pid", flat=True).first()
    if pid is None:
        return None
    try:
        cache.delete(_mark(pid))
    except Exception:
        logger.debug("cache unavailable; the queued mark will expire by itself")
    return services.deliver(packet_id)


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    """Queue every packet whose next attempt is due: lost tasks and flushed brokers lose nothing."""
    queued = 0
    ids = services.due_packet_ids()
    for packet_id, pid in OutboundPacket.objects.filter(pk__in=ids).values_list("pk", "pid"):
        if mark_queued(pid):
            deliver_packet.delay(packet_id)
            queued += 1
    return queued


@shared_task(ignore_result=True)
def apply_waiting_packets() -> int:
    return services.apply_waiting_packets()
