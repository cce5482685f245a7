"""The node's Celery app: one per node, its queues prefixed by the node's agency code."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "odr.settings")

app = Celery("odr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _warm_up(**_kwargs) -> None:
    # Before the pool starts, so prefork children inherit what was loaded.
    from odr.warmup import warm_up

    warm_up()
