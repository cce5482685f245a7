"""One Celery beat per node, enforced by a lock in the node's Redis.

Beat queues the sweeps; two beats would queue each sweep twice (harmless, tasks are idempotent,
but wasteful) and are a sign of a deployment mistake. A beat takes the lock when it starts and
renews it every third of ``ODR_BEAT_LOCK_SECONDS``; a second beat, on this machine or another,
waits until the lock is free and then takes over (a stand-by). A beat whose lock vanished (Redis
restarted empty) takes it again if nobody else did meanwhile; one that finds it held by another
beat, or could not renew it for a whole lock period, stops itself, so two beats can overlap only
for one renewal interval.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import threading
import time
import uuid

from django.conf import settings

logger = logging.getLogger(__name__)

# Renew our lock, or take it again if it vanished (Redis restarted empty); 0 if another holds it.
_RENEW = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
if not holder then redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end
return 0
"""
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"  # noqa: E501


def lock_key() -> str:
    return f"{settings.ODR_REDIS_KEY_PREFIX}beat-lock"


class BeatLock:
    """The lock itself: take, renew, release. ``holder`` names the process holding it."""

    def __init__(self, redis, seconds: int | None = None):
        self.redis = redis
        self.seconds = int(seconds or settings.ODR_BEAT_LOCK_SECONDS)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def take(self) -> bool:
        return bool(self.redis.set(lock_key(), self.token, nx=True, ex=self.seconds))

    def renew(self) -> bool:
        return bool(self.redis.eval(_RENEW, 1, lock_key(), self.token, self.seconds))

    def release(self) -> None:
        self.redis.eval(_RELEASE, 1, lock_key(), self.token)

    def holder(self) -> str:
        value = self.redis.get(lock_key())
        return value.decode() if value else ""


def broker_redis():
    from odr.embedded import redis_client

    return redis_client(settings.CELERY_BROKER_URL, socket_timeout=5)


def hold_for_this_beat() -> BeatLock:
    """Wait for the lock, then keep it renewed in a thread; stop this process if it is lost."""
    import redis

    lock = BeatLock(broker_redis())
    interval = max(lock.seconds / 3, 1)
    waiting_logged = False
    while True:
        try:
            if lock.take():
                break
            if not waiting_logged:
                logger.warning(
                    "another beat holds this node's beat lock (%s); standing by", lock.holder()
                )
                waiting_logged = True
        except redis.RedisError as error:
            logger.warning("beat lock: Redis unavailable (%s); retrying", type(error).__name__)
        time.sleep(interval)
    logger.info("beat lock taken (%s)", lock.token)
    atexit.register(_release_quietly, lock)

    def keep():
        renewed = time.monotonic()
        while True:
            time.sleep(interval)
            try:
                if lock.renew():
                    renewed = time.monotonic()
                    continue
                logger.error("beat lock lost to %r; stopping this beat", lock.holder())
            except redis.RedisError as error:
                if time.monotonic() - renewed < lock.seconds - interval:
                    logger.warning("beat lock not renewed (%s)", type(error).__name__)
                    continue
                logger.error("beat lock could not be renewed for %ss; stopping", lock.seconds)
            os.kill(os.getpid(), signal.SIGTERM)
            return

    threading.Thread(target=keep, name="beat-lock", daemon=True).start()
    return lock


def _release_quietly(lock: BeatLock) -> None:
    try:
        lock.release()
    except Exception:  # the process is exiting; the lock expires by itself
        logger.debug("beat lock not released; it expires in %ss", lock.seconds)
