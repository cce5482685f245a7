import pytest

from tests.relay.conftest import kca, node  # noqa: F401  (this node's keys, its partner KCA)


@pytest.fixture
def delivery_marks(seeded, settings):
    """No delivery to KCA marked queued before or after the test: a test that runs its commit
    hooks publishes wake-ups to a broker nobody reads, and the marks live in the shared Redis."""
    from relay.tasks import unmark_queued

    partner = seeded["KR-KCA"].pk

    def clear():
        for lane in range(max(1, settings.ODR_RELAY_LANES)):
            unmark_queued(partner, lane)

    clear()
    yield
    clear()
