from __future__ import annotations

import pytest


@pytest.fixture
def node(settings, tmp_path, seeded):
    """This node (BPKN) with its own keys, in a private keys directory."""
    from django.core.cache import cache

    from relay.inbox import _refusal_counter
    from relay.partners import init_node_keys

    # The inbox's refusal counter lives in the shared Redis: every test starts from zero.
    cache.delete(_refusal_counter("127.0.0.1"))
    settings.ODR_KEYS_DIR = tmp_path / "keys"
    init_node_keys()
    return seeded["ID-BPKN"]


@pytest.fixture
def kca(node):
    """KCA, BPKN's partner under an active MoU, with keys pinned here."""
    from tests.relay.partner import Partner

    return Partner("KR-KCA")


@pytest.fixture
def ukicc(node):
    """UK ICC: keys pinned, but its MoU with BPKN is only a draft."""
    from tests.relay.partner import Partner

    return Partner("GB-UKICC")
