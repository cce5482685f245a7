"""The node's Celery app: one per node, its queues prefixed by the node's agency code."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "odr.settings")

app = Celery("odr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
