from __future__ import annotations

import pytest

from tests.staff import login


@pytest.fixture
def caseworker_client(client, caseworker):
    login(client, caseworker)
    return client


@pytest.fixture
def outsider(db, seeded):
    """A signed-in member of staff who is not a caseworker."""
    from django.contrib.auth.models import User

    return User.objects.create_user("clerk", password="another horse battery staple")


@pytest.fixture
def at_partner_node(settings):
    """Run the following requests as the KCA node, the partner of BPKN's disputes."""

    def switch(code: str = "KR-KCA"):
        settings.ODR_NODE = code

    return switch
