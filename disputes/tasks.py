from celery import shared_task
from django.utils import timezone

from . import selectors, services


@shared_task(autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600, max_retries=5)
def flag_overdue_disputes() -> int:
    """Hourly: mark missed deadlines on the timeline so caseworkers and staff see them."""
    today = timezone.now().date()
    flagged = 0
    for dispute in selectors.overdue_disputes(today).iterator():
        flagged += len(services.flag_missed_deadlines(dispute, today))
    return flagged
