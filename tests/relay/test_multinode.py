"""Three real nodes (BPKN, KCA, UK ICC) relaying a case over HTTP on loopback.

Each node runs as its own processes (gunicorn, a Celery worker, Celery beat) with its own
database (a SQLite file locally, a fresh PostgreSQL database in CI) and its own broker (an
embedded Redis locally, the CI Redis under a unique key prefix in CI). Everything the tests do
goes through the operator CLI (``manage.py dispute``) in a node's environment, and everything
they check is what an operator of either node would see: the dispute, its timeline, and the
relay's packet log.
"""

from __future__ import annotations

import json
import os

import pytest
from django.conf import settings

from odr.cluster import (
    ClusterError,
    LocalCluster,
    file_and_forward,
    inbound,
    outbound,
    wait_delivered,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.multinode

PDF = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"


def cluster_options() -> dict:
    """PostgreSQL databases and the shared Redis in CI; SQLite and embedded Redis locally."""
    options = {}
    if os.environ.get("ODR_TEST_POSTGRES_URL"):
        options["postgres_url"] = os.environ["ODR_TEST_POSTGRES_URL"]
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        options["redis_url"] = settings.CELERY_BROKER_URL
    return options


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with LocalCluster(
        tmp_path_factory.mktemp("nodes"),
        ("ID-BPKN", "KR-KCA", "GB-UKICC"),
        extra_env={
            "ODR_RELAY_SWEEP_SECONDS": "1",
            "ODR_RELAY_BACKOFF_BASE_SECONDS": "1",
            "ODR_RELAY_BACKOFF_MAX_SECONDS": "3",
        },
        **cluster_options(),
    ) as cluster:
        for node, username in (
            (cluster["ID-BPKN"], "budi"),
            (cluster["KR-KCA"], "minji"),
            (cluster["GB-UKICC"], "oliver"),
        ):
            node.dispute("caseworker", username, "--password", "a-long-test-password-1")
        yield cluster


def status_changes(shown: dict) -> list[tuple[str, str]]:
    """The status changes since the case was forwarded (the partner never saw the earlier ones)."""
    changes = [
        (event["from_status"], event["to_status"])
        for event in shown["timeline"]
        if event["kind"] == "status_changed"
    ]
    return changes[changes.index(("under_review", "forwarded")) :]


def test_a_case_travels_from_bpkn_to_kca_and_its_settlement_comes_back(cluster, tmp_path):
    bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]

    reference = file_and_forward(bpkn, "budi")
    at_kca = wait_status(kca, reference, "forwarded")
    assert at_kca["home_agency"] == "ID-BPKN"
    assert at_kca["partner_agency"] == "KR-KCA"
    assert at_kca["merchant"] == "Seoul Gadget Store"

    kca.dispute("act", reference, "accept_forwarded", "--as", "minji")
    kca.dispute(
        "act", reference, "contact_merchant", "--as", "minji", "--text", "판매자에게 연락함"
    )
    korean = kca.dispute(
        "message",
        reference,
        "--as",
        "minji",
        "--language",
        "ko",
        "--text",
        "판매자가 환불을 검토하고 있습니다. The merchant is reviewing a refund.",
    )
    english = bpkn.dispute(
        "message",
        reference,
        "--as",
        "budi",
        "--language",
        "en",
        "--text",
        "Thank you; the consumer accepts a full refund.",
    )
    receipt = tmp_path / "refund-confirmation.pdf"
    receipt.write_bytes(PDF)
    kca.dispute("document", reference, "--as", "minji", "--file", str(receipt))
    kca.dispute(
        "act",
        reference,
        "record_settlement",
        "--as",
        "minji",
        "--language",
        "en",
        "--text",
        "Full refund of 1,250,000 IDR to the consumer's card.",
        "--amount",
        "1250000",
        "--currency",
        "IDR",
    )

    at_bpkn = wait_status(bpkn, reference, "settled")
    wait_delivered(bpkn, kca, reference)
    wait_delivered(kca, bpkn, reference)
    at_kca = kca.show(reference)
    at_bpkn = bpkn.show(reference)

    assert at_bpkn["outcome_summary"] == "Full refund of 1,250,000 IDR to the consumer's card."
    assert at_bpkn["settlement_amount"] == at_kca["settlement_amount"]
    assert status_changes(at_bpkn) == status_changes(at_kca)
    assert status_changes(at_bpkn) == [
        ("under_review", "forwarded"),
        ("forwarded", "accepted_by_partner"),
        ("accepted_by_partner", "merchant_contacted"),
        ("merchant_contacted", "settled"),
    ]
    for shown in (at_bpkn, at_kca):
        messages = {message["uid"]: message for message in shown["messages"]}
        assert messages[korean]["language"] == "ko"
        assert messages[english]["body"] == "Thank you; the consumer accepts a full refund."
        assert len(messages) == len(shown["messages"])  # no message stored twice
    assert {item["sha256"] for item in at_bpkn["evidence"]} == {
        item["sha256"] for item in at_kca["evidence"]
    }
    assert "refund-confirmation.pdf" in {item["name"] for item in at_bpkn["evidence"]}

    # Both directions carried packets, and each was applied exactly once (checked above).
    assert outbound(bpkn.relay_log()) and outbound(kca.relay_log())


def test_uk_icc_without_an_active_mou_never_gets_a_bpkn_case(cluster):
    bpkn, kca, ukicc = cluster["ID-BPKN"], cluster["KR-KCA"], cluster["GB-UKICC"]

    # BPKN refuses to forward a case against a UK merchant: the MoU is still a draft.
    reference = bpkn.dispute(
        "file",
        input=json.dumps(
            {
                **_sample(),
                "merchant_name": "London Boots Ltd",
                "merchant_country": "GB",
                "currency": "GBP",
                "amount": "120",
            }
        ),
    )
    bpkn.dispute("act", reference, "start_review", "--as", "budi")
    with pytest.raises(ClusterError, match=r"no_active_mou|mou_not_active"):
        bpkn.dispute("act", reference, "forward", "--as", "budi")
    assert bpkn.show(reference)["status"] == "under_review"

    # The UK ICC node, with a local record that claims the MoU is active, sends BPKN a case:
    # BPKN's own MoU register decides, and it refuses the packet.
    ukicc.shell(
        "from agencies.models import MoU; "
        "MoU.objects.filter(reference='MOU-BPKN-UKICC-DRAFT').update(status='active')"
    )
    uk_reference = ukicc.dispute(
        "file",
        input=json.dumps(
            {
                **_sample(),
                "consumer_name": "Alice Smith",
                "consumer_email": "alice@example.co.uk",
                "consumer_country": "GB",
                "consumer_language": "en",
                "merchant_name": "Toko Batik Jaya",
                "merchant_country": "ID",
                "currency": "GBP",
                "amount": "80",
                "consumer_account": "The batik shirt I paid for never arrived.",
                "filing_language": "en",
            }
        ),
    )
    ukicc.dispute("act", uk_reference, "start_review", "--as", "oliver")
    ukicc.dispute("act", uk_reference, "forward", "--as", "oliver")

    # Meanwhile BPKN-KCA traffic goes on as usual.
    kca_reference = file_and_forward(bpkn, "budi")
    wait_status(kca, kca_reference, "forwarded")
    wait_delivered(bpkn, kca, kca_reference)

    def uk_packet_refused():
        rows = [row for row in outbound(ukicc.relay_log()) if row.get("dispute") == uk_reference]
        return rows and all(row.get("state") in ("refused", "dead") for row in rows) and rows

    refused = wait_for(uk_packet_refused, timeout=90, interval=0.5, what="the UK packet refused")
    assert all(row.get("receipt_status") != "accepted" for row in refused)
    assert bpkn.show(uk_reference) is None
    assert not [
        row
        for row in inbound(bpkn.relay_log())
        if row.get("state") == "applied" and row.get("agency") == "GB-UKICC"
    ]
    # UK ICC never received anything about BPKN's cases.
    assert bpkn.show(reference)["partner_agency"] is None
    assert not inbound(ukicc.relay_log())
    assert kca.show(kca_reference)["status"] == "forwarded"


def _sample() -> dict:
    from odr.cluster import SAMPLE_DISPUTE

    return dict(SAMPLE_DISPUTE)
