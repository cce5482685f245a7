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
    import redis  # noqa: F401  (the cache backend imports it on its first call)
    from django.template.loader import get_template
    from django.urls import get_resolver

    from relay import packets

    get_resolver().url_patterns  # noqa: B018  (imports every URLconf and view)
    for name in (*packets.PACKET_TYPES, "envelope", "receipt"):
        packets.schema_validator(name)
        packets.fast_validator(name)
    for template in ("notification", "notification_subject"):
        get_template(f"portal/email/{template}.txt")
    logger.debug("warmed up")
