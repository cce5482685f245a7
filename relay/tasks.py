"""Celery tasks of the relay. They take ids, are idempotent, and the database holds the truth."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction

from odr.celery import BROKER_ERRORS, publish
from odr.marks import clear_mark, drain_alone, set_mark

from . import delivery, placement

logger = logging.getLogger(__name__)
# While a delivery task for a partner sits in the queue, neither a commit nor the sweep queues
# another one; if the queue is lost (broker flushed or restarted) the mark expires and the sweep
# queues one again.
QUEUED_MARK_SECONDS = 30


def _lane_key(kind: str, recipient_id: int, lane: int) -> str:
    # Row ids repeat across databases sharing one Redis (tests, several nodes): name the database.
    return f"relay:{kind}:{settings.DATABASES['default']['NAME']}:{recipient_id}:{lane}"


def mark_queued(recipient_id: int, lane: int = 0) -> bool:
    """False if a delivery task for this lane is waiting or running; True (queue one) otherwise."""
    return set_mark(_lane_key("queued", recipient_id, lane), QUEUED_MARK_SECONDS)


def unmark_queued(recipient_id: int, lane: int = 0) -> None:
    """After a publish that failed, or when the loop stops: the next commit queues another."""
    clear_mark(_lane_key("queued", recipient_id, lane))


def _delivering(recipient_id: int, lane: int) -> str:
    return _lane_key("delivering", recipient_id, lane)


def _start_delivering(recipient_id: int, lane: int = 0) -> bool:
    """One delivery loop per lane at a time, so a dispute's packets arrive in the order written."""
    return set_mark(_delivering(recipient_id, lane), delivery.delivery_lease_seconds())


def _stop_delivering(recipient_id: int, lane: int = 0) -> None:
    clear_mark(_delivering(recipient_id, lane))


@shared_task(acks_late=True, ignore_result=True)
def deliver_to_partner(recipient_id: int, lane: int = 0) -> int:
    """Deliver everything due in one lane to one partner, in batches, until nothing is due.

    Only one task delivers a lane at a time (a second one leaves it to the first), so a
    dispute's packets leave in order; the lanes of a partner (ODR_RELAY_LANES) go in parallel.
    While it delivers, the lane's queued mark stays set, so commits queue no more tasks; it is
    cleared before the loop stops, and the loop looks once more after stopping, so a packet
    committed just then is not left for the sweep.
    """
    return drain_alone(
        _delivering(recipient_id, lane),
        delivery.delivery_lease_seconds(),
        _lane_key("queued", recipient_id, lane),
        step=lambda: delivery.deliver_due(recipient_id, lane=lane),
        more_due=lambda: bool(delivery.due_lanes(only=(recipient_id, lane))),
    )


def wake_delivery_after_commit(recipient, lane: int) -> None:
    """Queue a delivery task for the partner's lane once the caller's transaction commits.

    A broker that is down must not fail the change the caller has committed: the database
    holds the packet, and the beat's sweep queues it once the broker is back.
    """

    def send():
        try:
            # One waiting task per lane is enough: it delivers everything due when it runs.
            if mark_queued(recipient.pk, lane):
                publish(lambda: deliver_to_partner.delay(recipient.pk, lane))
        except BROKER_ERRORS as error:
            unmark_queued(recipient.pk, lane)
            logger.warning(
                "could not queue delivery to %s (%s); the sweep will", recipient.code, error
            )

    transaction.on_commit(send)


@shared_task(acks_late=True, ignore_result=True)
def deliver_packet(packet_id: int) -> str | None:
    """One delivery attempt of one outbound packet, if it is due."""
    return delivery.deliver(packet_id)


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    """Wake delivery to every partner with a packet due: lost tasks and flushed brokers lose
    nothing. Returns how many delivery tasks it queued."""
    queued = 0
    for recipient_id, lane in delivery.due_lanes():
        if mark_queued(recipient_id, lane):
            deliver_to_partner.delay(recipient_id, lane)
            queued += 1
    return queued


@shared_task(ignore_result=True)
def apply_waiting_packets() -> int:
    return placement.apply_waiting_packets()


@shared_task(bind=True, max_retries=5, default_retry_delay=300)
def warn_expiring_keys(self) -> int:
    """Daily: warn administrators before any key's not_after (idempotent: each key once)."""
    from .expiry import warn_expiring_keys as warn

    try:
        return warn()
    except OSError as error:  # the mail server is down: try again later
        raise self.retry(exc=error) from error
