"""Short-lived marks in the shared cache that keep Celery from queuing the same loop twice.

A mark only saves work (a second task that would find nothing to do); it never guards data. The
database holds the truth, so when the cache is down every caller acts as if the mark was free.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


def set_mark(key: str, timeout: float) -> bool:
    """Set a mark unless it is set; True if this call set it. Without the cache, True: better a
    redundant task than none (the work it starts is idempotent)."""
    try:
        return bool(cache.add(key, 1, timeout=timeout))
    except Exception:
        return True


def clear_mark(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.debug("cache unavailable; mark %s will expire by itself", key)
