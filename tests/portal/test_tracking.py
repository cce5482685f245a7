"""Following a dispute with the private link: what the consumer sees and may do, and who may not."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from disputes import services
from disputes.models import Status
from portal import tokens
from portal.tokens import make_tracking_token
from tests.factories import file_dispute
from tests.portal.conftest import EXE, PDF, PNG

pytestmark = pytest.mark.django_db


def track_url(dispute) -> str:
    return f"/track/{make_tracking_token(dispute)}/"


def test_the_link_shows_status_in_plain_words_deadlines_and_only_public_events(
    client, seeded, caseworker
):
    dispute = file_dispute(evidence=[("receipt.pdf", PDF)])
    actor = services.Actor.caseworker(caseworker)
    services.start_review(dispute, actor=actor)
    services.post_message(
        dispute,
        actor=actor,
        body="Internal: check the seller",
        language="en",
        visible_to_consumer=False,
    )
    services.post_message(dispute, actor=actor, body="Kami sedang memeriksa.", language="id")
    page = client.get(track_url(dispute)).content.decode()
    assert dispute.reference in page
    assert "A caseworker is checking your dispute." in page
    assert "Under review" in page
    assert "Kami sedang memeriksa." in page
    assert "Internal: check the seller" not in page
    assert "receipt.pdf" in page
    dispute.refresh_from_db()
    assert dispute.review_due_on.strftime("%Y") in page
    assert client.get(track_url(dispute))["Cache-Control"].startswith("max-age=0")


def test_tampered_expired_and_revoked_links_are_refused(client, seeded):
    dispute = file_dispute()
    good = make_tracking_token(dispute)
    assert client.get(f"/track/{good}/").status_code == 200

    tampered = good[:-3] + ("AAA" if good[-3:] != "AAA" else "BBB")
    other_pk = signing.TimestampSigner(salt="wrong-salt").sign_object({"d": dispute.pk, "v": 1})
    for token in (tampered, other_pk, "nonsense", good.split(":")[0]):
        response = client.get(f"/track/{token}/")
        assert response.status_code == 404
        assert "This link does not work" in response.content.decode()
        assert dispute.reference not in response.content.decode()

    class Yesterday(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 31 * 24 * 3600)

    expired = Yesterday(salt=tokens.SALT).sign_object({"d": dispute.pk, "v": 1})
    assert client.get(f"/track/{expired}/").status_code == 404

    dispute.tracking_link_version += 1
    dispute.save(update_fields=["tracking_link_version"])
    assert client.get(f"/track/{good}/").status_code == 404
    assert client.get(track_url(dispute)).status_code == 200


def test_one_consumers_link_never_reaches_another_consumers_dispute_or_files(client, seeded):
    dewi = file_dispute(evidence=[("dewi.pdf", PDF)])
    budi = file_dispute(
        consumer_name="Budi", consumer_email="budi@example.id", evidence=[("budi.png", PNG)]
    )
    dewi_token = make_tracking_token(dewi)
    budi_file = budi.evidence.get()
    dewi_file = dewi.evidence.get()

    own = client.get(f"/track/{dewi_token}/documents/{dewi_file.pk}/")
    assert own.status_code == 200
    assert b"".join(own.streaming_content) == PDF
    assert own["Content-Disposition"].startswith("attachment")

    assert client.get(f"/track/{dewi_token}/documents/{budi_file.pk}/").status_code == 404
    assert "Budi" not in client.get(f"/track/{dewi_token}/").content.decode()
    # Acting with Dewi's link can only ever touch Dewi's dispute.
    client.post(f"/track/{dewi_token}/message/", {"body": "Halo"})
    assert not budi.messages.exists() and dewi.messages.filter(body="Halo").exists()
    # Evidence is never reachable without a link, whatever the path.
    assert Client().get(f"/track/x/documents/{dewi_file.pk}/").status_code == 404


def test_agency_documents_are_shown_only_when_shared_with_the_consumer(client, seeded, caseworker):
    dispute = file_dispute()
    actor = services.Actor.caseworker(caseworker)
    services.add_document(
        dispute, actor=actor, name="internal.txt", content=b"notes", visible_to_consumer=False
    )
    services.add_document(dispute, actor=actor, name="letter.pdf", content=PDF)
    token = make_tracking_token(dispute)
    page = client.get(f"/track/{token}/").content.decode()
    assert "letter.pdf" in page and "internal.txt" not in page
    hidden = dispute.evidence.get(original_name="internal.txt")
    assert client.get(f"/track/{token}/documents/{hidden.pk}/").status_code == 404


def test_csrf_is_enforced_on_every_consumer_action(seeded):
    dispute = file_dispute()
    browser = Client(enforce_csrf_checks=True)
    token = make_tracking_token(dispute)
    for path, data in [
        (f"/track/{token}/message/", {"body": "hello"}),
        (f"/track/{token}/withdraw/", {"confirm": "on"}),
        (f"/track/{token}/settlement/", {"decision": "accept"}),
        ("/file/you/", {"consumer_name": "Mallory"}),
        ("/file/", {}),
        ("/find/", {"reference": dispute.reference, "email": "dewi@example.id"}),
    ]:
        assert browser.post(path, data).status_code == 403, path
    dispute.refresh_from_db()
    assert dispute.status == Status.SUBMITTED and not dispute.messages.exists()

    # With the token from the page, the same action works.
    page = browser.get(f"/track/{token}/")
    csrf = page.context["csrf_token"]
    response = browser.post(
        f"/track/{token}/message/", {"body": "hello", "csrfmiddlewaretoken": csrf}
    )
    assert response.status_code == 302 and dispute.messages.filter(body="hello").exists()


def test_consumer_answers_a_clarification_with_a_file(client, seeded, caseworker):
    dispute = file_dispute()
    actor = services.Actor.caseworker(caseworker)
    services.start_review(dispute, actor=actor)
    services.request_clarification(
        dispute, actor=actor, question="Kapan Anda memesan?", language="id"
    )
    token = make_tracking_token(dispute)
    page = client.get(f"/track/{token}/").content.decode()
    assert "Kapan Anda memesan?" in page and 'action="/track/' in page

    refused = client.post(
        f"/track/{token}/clarification/",
        {"answer": "1 Oktober", "files": [SimpleUploadedFile("order.pdf", EXE)]},
    )
    assert refused.status_code == 400
    assert "order.pdf is not a PDF, JPEG, PNG, WebP or plain-text file." in refused.content.decode()
    dispute.refresh_from_db()
    assert dispute.status == Status.CLARIFICATION_REQUESTED and not dispute.evidence.exists()

    response = client.post(
        f"/track/{token}/clarification/",
        {"answer": "1 Oktober", "files": [SimpleUploadedFile("order.pdf", PDF)]},
        follow=True,
    )
    assert "Your answer has been sent" in response.content.decode()
    dispute.refresh_from_db()
    assert dispute.status == Status.UNDER_REVIEW
    assert dispute.evidence.get().original_name == "order.pdf"
    assert dispute.timeline.filter(text="1 Oktober", actor="consumer").exists()


def _negotiating(dispute, caseworker):
    actor = services.Actor.caseworker(caseworker)
    services.start_review(dispute, actor=actor)
    dispute.refresh_from_db()
    # The home agency handles the merchant stages for a domestic-only case: move it along
    # through the forwarding path the MoU allows.
    services.forward_dispute(dispute, actor=actor)
    partner = services.Actor.agency("KR-KCA")
    services.accept_forwarded(dispute, actor=partner)
    dispute.refresh_from_db()
    stage_actor = partner if "merchant_contact" in (dispute.mou.partner_stages or []) else actor
    services.contact_merchant(dispute, actor=stage_actor)
    services.propose_settlement(
        dispute,
        actor=stage_actor,
        proposal="Full refund of 1,250,000 IDR within 14 days.",
        language="en",
        amount=1250000,
        currency="IDR",
    )
    dispute.refresh_from_db()
    return dispute


def test_consumer_accepts_or_rejects_a_proposed_settlement(client, seeded, caseworker):
    accepted = _negotiating(file_dispute(), caseworker)
    token = make_tracking_token(accepted)
    page = client.get(f"/track/{token}/").content.decode()
    assert "Full refund of 1,250,000 IDR within 14 days." in page
    client.post(f"/track/{token}/settlement/", {"decision": "accept"})
    accepted.refresh_from_db()
    assert accepted.status == Status.SETTLED
    assert "Your dispute has been settled." in client.get(f"/track/{token}/").content.decode()

    rejected = _negotiating(file_dispute(), caseworker)
    token = make_tracking_token(rejected)
    client.post(f"/track/{token}/settlement/", {"decision": "reject", "reason": "Too slow"})
    rejected.refresh_from_db()
    assert rejected.status == Status.MERCHANT_CONTACTED and rejected.settlement_proposal == ""


def test_consumer_withdraws_only_after_confirming(client, seeded):
    dispute = file_dispute()
    token = make_tracking_token(dispute)
    unconfirmed = client.post(f"/track/{token}/withdraw/", {"reason": "Sudah beres"})
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm" in unconfirmed.content.decode()
    dispute.refresh_from_db()
    assert dispute.status == Status.SUBMITTED

    client.post(f"/track/{token}/withdraw/", {"reason": "Sudah beres", "confirm": "on"})
    dispute.refresh_from_db()
    assert dispute.status == Status.WITHDRAWN
    page = client.get(f"/track/{token}/").content.decode()
    assert "You withdrew this dispute." in page and "/message/" not in page
