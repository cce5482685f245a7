from disputes.models import Status
from tests.factories import file_dispute


def test_filing_gives_a_sequential_reference(seeded):
    first = file_dispute()
    second = file_dispute()
    assert first.status == Status.SUBMITTED
    year = first.filed_at.year
    assert first.reference == f"BPKN-{year}-000001"
    assert second.reference == f"BPKN-{year}-000002"
    assert first.review_due_on is not None
