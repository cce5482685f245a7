from tests.relay.conftest import kca, node  # noqa: F401  (this node's keys, its partner KCA)
