import datetime as dt

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def purge_idempotency_records() -> int:
    """Daily: a client may replay a request for ODR_IDEMPOTENCY_RETENTION_HOURS, no longer."""
    return services.purge_idempotency_records(
        older_than=dt.timedelta(hours=settings.ODR_IDEMPOTENCY_RETENTION_HOURS)
    )
