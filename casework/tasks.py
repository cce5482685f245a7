from celery import shared_task

from . import reminders, selectors


@shared_task(autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600, max_retries=5)
def sweep_deadlines() -> dict:
    """Beat: create the deadline reminders and escalations due now, then send the unsent ones.
    Any number of these may run at once; each notice is created once and sent once."""
    created = reminders.sweep_deadlines(selectors.node_agency())
    return {"created": created, "sent": reminders.send_due_notices()}
