"""The inbox keeps agencies, keys and MoUs in each process; a change made in the process applies
to the very next packet (the test runs outside a test transaction, as the inbox runs in
production, so the cache is really filled)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.models import AgencyKey, MoU
from agencies.services import change_mou_status, revoke_agency_key
from relay import refdata
from relay.models import PacketType
from relay.services import receive_packet

pytestmark = pytest.mark.django_db(transaction=True)


def ping(kca) -> bytes:
    return kca.packet(
        PacketType.PARTNER_PING, {"nonce": "abcdefgh", "sent_at": timezone.now().isoformat()}
    )


@pytest.fixture
def warm(node, kca):
    refdata.clear()
    assert receive_packet(ping(kca), content_type="application/jose")[2] == "applied"
    return kca


def test_a_warm_inbox_reads_no_keys_agency_or_mou_from_the_database(warm):
    packet = ping(warm)
    with CaptureQueriesContext(connection) as queries:
        assert receive_packet(packet, content_type="application/jose")[2] == "applied"
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert "agencies_agencykey" not in tables
    assert "agencies_mou" not in tables
    assert "agencies_agency" not in tables


def test_a_revoked_signing_key_is_refused_at_once(warm):
    revoke_agency_key(AgencyKey.objects.get(kid=warm.sig.kid))
    status, _receipt, code = receive_packet(ping(warm), content_type="application/jose")
    assert (status, code) == (401, "key_not_valid")


def test_a_suspended_mou_is_refused_at_once(warm):
    mou = MoU.objects.get(reference="MOU-BPKN-KCA-2021")
    change_mou_status(mou, MoU.Status.SUSPENDED, note="audit")
    assert receive_packet(ping(warm), content_type="application/jose")[2] == "no_active_mou"
