"""Renewing a lost or expired link by reference and email, without telling strangers anything."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from portal.tasks import send_tracking_link
from tests.factories import file_dispute

pytestmark = pytest.mark.django_db


def test_a_matching_reference_and_email_get_a_fresh_link_and_others_the_same_answer(
    client, seeded, find_limits, django_capture_on_commit_callbacks
):
    dispute = file_dispute()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        match = client.post(
            "/find/", {"reference": dispute.reference.lower(), "email": "DEWI@example.id"}
        )
    with django_capture_on_commit_callbacks(execute=False) as not_queued:
        other = client.post(
            "/find/", {"reference": dispute.reference, "email": "mallory@example.com"}
        )
        unknown = client.post("/find/", {"reference": "BPKN-2099-000001", "email": "a@b.id"})
    assert match.status_code == other.status_code == unknown.status_code == 302
    assert match["Location"] == other["Location"] == unknown["Location"] == "/find/sent/"
    assert len(queued) == 1 and len(not_queued) == 0

    send_tracking_link.run(dispute.pk)
    (email,) = mail.outbox
    assert email.to == ["dewi@example.id"] and dispute.reference in email.subject
    path = re.search(r"/track/\S+/", email.body).group(0)
    assert client.get(path).status_code == 200


def test_guessing_is_rate_limited(client, seeded, find_limits):
    dispute = file_dispute()
    codes = [
        client.post(
            "/find/", {"reference": dispute.reference, "email": f"x{n}@example.id"}
        ).status_code
        for n in range(6)
    ]
    assert codes == [302] * 5 + [429]
    assert (
        "Too many attempts"
        in client.post(
            "/find/", {"reference": dispute.reference, "email": "dewi@example.id"}
        ).content.decode()
    )


def test_with_the_broker_down_the_link_is_sent_at_once_instead_of_queued(
    client, seeded, find_limits, django_capture_on_commit_callbacks, caplog
):
    from tests.relay.test_broker_down import broker_down

    dispute = file_dispute()
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/find/", {"reference": dispute.reference, "email": "dewi@example.id"})

    assert answer.status_code == 302 and answer["Location"] == "/find/sent/"
    assert "could not queue a tracking link" in caplog.text
    (email,) = mail.outbox
    assert email.to == ["dewi@example.id"] and dispute.reference in email.subject
