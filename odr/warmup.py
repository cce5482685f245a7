"""Load at a process's start what it would otherwise load during its first requests or tasks.

Django imports the URLconf (and with it every view, DRF and drf-spectacular) on the first
request, and the relay compiles its packet schemas on the first packet: a few hundred
milliseconds of CPU that a fresh gunicorn or Celery worker would spend while already serving,
after every deploy and restart. Called by odr.wsgi and by the Celery worker on start.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def warm_up() -> None:
    """Import the URLconf, then let each app load what it needs (its ``AppConfig.warm_up``)."""
    import redis  # noqa: F401  (the cache backend imports it on its first call)
    from django.apps import apps
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (imports every URLconf and view)
    for config in apps.get_app_configs():
        warm_up_app = getattr(config, "warm_up", None)
        if warm_up_app is not None:
            warm_up_app()
    logger.debug("warmed up")
