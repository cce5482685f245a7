from celery import shared_task

from . import services


@shared_task(autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600, max_retries=5)
def refresh_figures() -> int:
    """Nightly: rebuild the monthly rollups the statistics pages read. Idempotent."""
    return services.refresh_figures().disputes
