"""Dispute references: unique, sequential per agency per year, safe under concurrent filing."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agencies.models import Agency
from disputes.models import Dispute
from disputes.services import allocate_reference
from tests.factories import file_dispute

FILERS = 8
EACH = 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_filings_get_distinct_consecutive_references(seeded):
    """Several threads, each with its own database connection, file at the same moment."""
    start = threading.Barrier(FILERS)
    errors: list[BaseException] = []

    def filer():
        try:
            start.wait()
            for _ in range(EACH):
                file_dispute()
        except BaseException as error:  # reported below; a thread must not swallow it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=filer) for _ in range(FILERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    references = sorted(Dispute.objects.values_list("reference", flat=True))
    year = Dispute.objects.first().filed_at.year
    assert references == [f"BPKN-{year}-{n:06d}" for n in range(1, FILERS * EACH + 1)]


def test_numbering_restarts_each_year_and_per_agency(seeded):
    bpkn = Agency.objects.get(code="ID-BPKN")
    kca = Agency.objects.get(code="KR-KCA")
    assert allocate_reference(bpkn, 2026) == "BPKN-2026-000001"
    assert allocate_reference(bpkn, 2026) == "BPKN-2026-000002"
    assert allocate_reference(bpkn, 2027) == "BPKN-2027-000001"
    assert allocate_reference(kca, 2026) == "KCA-2026-000001"


def test_the_year_is_the_home_agencys_local_year(seeded):
    # 23:30 UTC on 31 December is already 1 January in Jakarta (UTC+7).
    new_year_in_jakarta = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    dispute = file_dispute(now=new_year_in_jakarta, purchase_date=dt.date(2026, 12, 20))
    assert dispute.reference == "BPKN-2027-000001"


def test_the_reference_is_numbered_last_so_the_counter_stays_locked_briefly(seeded):
    """From the counter's upsert until the commit, other filings of the agency wait; only the
    dispute's own reference is written after it."""
    with CaptureQueriesContext(connection) as queries:
        dispute = file_dispute()
    statements = [query["sql"] for query in queries]
    counter = next(
        index for index, sql in enumerate(statements) if "disputes_referencecounter" in sql
    )
    after = statements[counter + 1 :]
    assert len(after) == 1
    assert after[0].replace('"', "").startswith("UPDATE disputes_dispute SET reference")
    stored = Dispute.objects.get(pk=dispute.pk)
    assert stored.reference == dispute.reference
    assert re.fullmatch(r"BPKN-\d{4}-000001", stored.reference)


def test_evidence_is_stored_under_the_final_reference(seeded):
    dispute = file_dispute(evidence=[("receipt.txt", b"Paid 1.250.000 rupiah")])
    (evidence,) = dispute.evidence.all()
    assert evidence.file.name.startswith(f"evidence/{dispute.reference}/")
    assert not Dispute.objects.filter(reference__startswith="~").exists()


def test_a_filing_refused_halfway_leaves_nothing_behind(seeded):
    from odr.errors import InvalidInput

    with pytest.raises(InvalidInput):
        # The file is refused while storing it: after the dispute row and its number.
        file_dispute(evidence=[("receipt.pdf", b"\x00\x01 not a pdf")])
    assert not Dispute.objects.exists()
    assert file_dispute().reference.endswith("-000001")  # the number was not used up
