"""Short-lived marks in the shared cache that keep Celery from queuing the same loop twice.

A mark only saves work (a second task that would find nothing to do); it never guards data. The
database holds the truth, so when the cache is down every caller acts as if the mark was free.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

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


def drain_alone(
    running_key: str,
    lease_seconds: float,
    queued_key: str,
    step: Callable[[], int],
    more_due: Callable[[], bool],
) -> int:
    """Call ``step`` until it returns 0, as the only loop holding ``running_key``; returns the
    sum of what it returned.

    A second caller finds the mark set and leaves the work to the first. The queued mark (which
    keeps commits from queuing more tasks) stays set while the loop runs and is cleared before
    it stops; the loop then asks ``more_due`` once more, so work committed just then is not left
    for a sweep.
    """
    done = 0
    while set_mark(running_key, lease_seconds):
        try:
            while count := step():
                done += count
            clear_mark(queued_key)
        finally:
            clear_mark(running_key)
        if not more_due():
            break
    return done
