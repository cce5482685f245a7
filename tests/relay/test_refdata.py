"""The inbox keeps agencies, keys, MoUs and code lists in each process; a change made in the
process applies to the very next packet (the test runs outside a test transaction, as the inbox
runs in production, so the cache is really filled)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies import refcache
from agencies.models import AgencyKey, MoU
from agencies.services import change_mou_status, revoke_agency_key
from disputes.models import Dispute
from relay import keys as node_keys
from relay import refdata
from relay.inbox import receive_packet
from relay.models import PacketType
from tests.relay.partner import forward_body

pytestmark = pytest.mark.django_db(transaction=True)


def ping(kca) -> bytes:
    return kca.packet(
        PacketType.PARTNER_PING, {"nonce": "abcdefgh", "sent_at": timezone.now().isoformat()}
    )


@pytest.fixture
def warm(node, kca, monkeypatch):
    # Kept for the whole test however slow the machine: what is read once stays read.
    monkeypatch.setattr(refcache, "SECONDS", 600.0)
    monkeypatch.setattr(node_keys, "HELD_SECONDS", 600.0)
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


def test_a_suspended_mou_refuses_new_forwards_at_once(warm):
    mou = MoU.objects.get(reference="MOU-BPKN-KCA-2021")
    change_mou_status(mou, MoU.Status.SUSPENDED, note="audit")
    forward = warm.packet(
        "dispute.forward", forward_body("KCA-2026-000051"), dispute="KCA-2026-000051"
    )
    assert receive_packet(forward, content_type="application/jose")[2] == "no_active_mou"


def test_a_warm_inbox_applies_a_forward_without_reading_the_code_lists(warm):
    first = warm.packet(
        "dispute.forward", forward_body("KCA-2026-000041"), dispute="KCA-2026-000041"
    )
    assert receive_packet(first, content_type="application/jose")[2] == "applied"
    second = warm.packet("dispute.forward", forward_body(), dispute="KCA-2026-000042")

    with CaptureQueriesContext(connection) as queries:
        assert receive_packet(second, content_type="application/jose")[2] == "applied"

    statements = " ".join(query["sql"] for query in queries.captured_queries)
    for table in (
        "agencies_category",
        "agencies_country",
        "disputes_remedy",
        "disputes_problemtype",
    ):
        assert f'FROM "{table}"' not in statements
    assert "agencies_exchangerate" not in statements
    assert "agencies_mou_categories" not in statements
    forwarded = Dispute.objects.get(reference="KCA-2026-000042")
    assert forwarded.category.code == "clothing"
    assert [p.code for p in forwarded.problem_types.all()] == ["non_delivery"]
