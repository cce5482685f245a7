"""One beat per node: the lock a beat holds in the node's Redis (odr/beatlock.py)."""

from __future__ import annotations

import pytest

from odr.beatlock import BeatLock, broker_redis, lock_key


@pytest.fixture
def redis():
    client = broker_redis()
    client.delete(lock_key())
    yield client
    client.delete(lock_key())


def test_a_second_beat_waits_while_the_first_holds_the_lock_and_takes_it_after(redis):
    first, second = BeatLock(redis, seconds=30), BeatLock(redis, seconds=30)
    assert first.take()
    assert not second.take()
    assert second.holder() == first.token
    assert first.renew()
    assert not second.renew()  # the stand-by never renews what another holds
    first.release()
    assert second.take()
    assert not first.renew()  # the first one, back, finds it held: it stops


def test_a_lock_that_vanished_with_redis_is_taken_again_by_its_beat(redis):
    beat = BeatLock(redis, seconds=30)
    assert beat.take()
    redis.delete(lock_key())  # as after Redis restarted empty
    assert beat.renew()
    assert beat.holder() == beat.token
    assert 0 < redis.ttl(lock_key()) <= 30


def test_releasing_leaves_a_lock_another_beat_took(redis):
    first, second = BeatLock(redis, seconds=30), BeatLock(redis, seconds=30)
    assert first.take()
    redis.delete(lock_key())
    assert second.take()
    first.release()
    assert second.holder() == second.token
