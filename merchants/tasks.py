"""Celery tasks of the merchant app. They take ids, and the database holds every notice."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from disputes import services as disputes

from . import services


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=10,
)
def send_merchant_notice(notice_id: int) -> str:
    return services.send_notice(notice_id)


@shared_task
def send_pending_merchant_notices() -> int:
    """Beat: queue every notice whose task was lost (a broker down at commit, a crash)."""
    ids = services.pending_notice_ids()
    for notice_id in ids:
        transaction.on_commit(lambda notice_id=notice_id: send_merchant_notice.delay(notice_id))
    return len(ids)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600, max_retries=5)
def run_merchant_reply_clock() -> list[int]:
    """Beat: reminders before the merchant's reply deadline, and silence after it, once each
    however many beat processes run this (conditional updates and row locks decide)."""
    return list(disputes.run_merchant_clock())
