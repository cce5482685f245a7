"""The merchant's link: signed, expiring, revocable, rotated on resend, one case only, and the
consumer's contact details never on its pages."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client

from disputes import services
from disputes.models import Evidence
from merchants import tokens
from tests.merchants.conftest import KCA, accepted, emailed_link, invite
from tests.portal.conftest import PDF, PNG

pytestmark = pytest.mark.django_db


def test_the_email_link_opens_the_case_in_the_merchants_language_and_leaves_the_address_bar(
    client, invited, mailoutbox
):
    dispute, link = invited
    email = mailoutbox[-1]
    assert email.to == ["cs@seoulgadget.example.kr"]
    assert dispute.reference in email.subject
    assert "답변" in email.body  # Korean, the merchant's language
    for private in (dispute.consumer_email, dispute.consumer_phone):
        assert private not in email.body and private not in email.subject

    landing = client.get(link)
    assert landing.status_code == 302 and landing["Location"] == "/merchant/case/"
    assert landing["Referrer-Policy"] == "no-referrer"
    page = client.get("/merchant/case/")
    html = page.content.decode()
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "same-origin"  # a browser's forms keep their Origin
    assert '<html lang="ko"' in html
    assert dispute.reference in html and dispute.consumer_account in html
    token = parse_qs(urlsplit(link).query)["t"][0]
    assert token not in html


def test_the_merchant_never_sees_the_consumers_contact_details(seeded, mailoutbox, client):
    dispute = accepted(
        consumer_email="dewi.private@example.id",
        consumer_phone="+62 812 5555 0199",
        evidence=[("receipt.pdf", PDF)],
    )
    dispute = invite(dispute)
    client.get(emailed_link(mailoutbox, dispute))
    html = client.get("/merchant/case/").content.decode()
    assert "receipt.pdf" in html
    for private in ("dewi.private@example.id", "+62 812 5555 0199", "5555", "example.id"):
        assert private not in html
    failed = client.post("/merchant/case/propose/", {"remedy": "refund", "amount": "-1"})
    assert "dewi.private@example.id" not in failed.content.decode()


def test_tampered_and_expired_links_are_refused(invited):
    dispute, link = invited
    token = parse_qs(urlsplit(link).query)["t"][0]

    class LastMonth(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 31 * 24 * 3600)

    expired = LastMonth(salt=tokens.SALT).sign_object({"d": dispute.pk, "v": 1})
    portal_salt = signing.TimestampSigner(salt="portal.tracking-link").sign_object(
        {"d": dispute.pk, "v": 1}
    )
    for bad in (token[:-2] + "xx", expired, portal_salt, "", "nonsense"):
        browser = Client()
        response = browser.get("/merchant/", {"t": bad})
        assert response.status_code == 404
        assert "This link does not work" in response.content.decode() or "링크" in (
            response.content.decode()
        )
        assert browser.get("/merchant/case/").status_code == 404


def test_a_revoked_link_stops_at_once_even_in_an_open_session(merchant_client, invited):
    dispute, link = invited
    assert merchant_client.get("/merchant/case/").status_code == 200
    services.revoke_merchant_link(dispute, actor=KCA)
    assert merchant_client.get("/merchant/case/").status_code == 404
    assert merchant_client.post("/merchant/case/answer/", {"text": "안녕하세요"}).status_code == 404
    assert Client().get(link).status_code == 404
    assert not dispute.messages.exists()


def test_a_resend_rotates_the_link(invited, mailoutbox):
    dispute, old = invited
    dispute = services.invite_merchant(dispute, actor=KCA, merchant=dispute.merchant)
    new = emailed_link(mailoutbox, dispute)
    assert new != old
    assert Client().get(old).status_code == 404
    assert Client().get(new).status_code == 302


def test_the_link_of_one_case_never_reaches_another_case_or_its_files(seeded, mailoutbox, client):
    mine = invite(accepted(evidence=[("mine.pdf", PDF)]))
    other = invite(accepted(consumer_name="Budi", evidence=[("other.png", PNG)]))
    client.get(emailed_link(mailoutbox, mine))
    own_file = mine.evidence.get()
    other_file = other.evidence.get()
    assert client.get(f"/merchant/case/documents/{own_file.pk}/").status_code == 200
    response = client.get(f"/merchant/case/documents/{other_file.pk}/")
    assert response.status_code == 404
    html = client.get("/merchant/case/").content.decode()
    assert other.reference not in html and "other.png" not in html
    assert Evidence.objects.count() == 2


def test_every_merchant_form_needs_its_csrf_token(invited):
    dispute, link = invited
    browser = Client(enforce_csrf_checks=True)
    browser.get(link)
    for action in ("answer", "document", "propose", "accept", "decline", "performed"):
        response = browser.post(f"/merchant/case/{action}/", {"text": "x", "reasons": "x"})
        assert response.status_code == 403, action
    dispute.refresh_from_db()
    assert dispute.merchant_replied_at is None and not dispute.messages.exists()


def test_an_upload_that_lies_about_its_type_is_refused(merchant_client, invited):
    from django.core.files.uploadedfile import SimpleUploadedFile

    dispute, _link = invited
    for name, content in (
        ("invoice.pdf", PNG),
        ("photo.png", b"MZ\x90\x00\x03" + b"\x00" * 64),
        ("page.txt", b"<html>\x00\x01\x02</html>"),
    ):
        upload = SimpleUploadedFile(name, content, content_type="application/pdf")
        response = merchant_client.post("/merchant/case/document/", {"file": upload})
        assert response.status_code == 400, name
        assert name in response.content.decode()
    assert not dispute.evidence.exists()
    dispute.refresh_from_db()
    assert dispute.status == "merchant_contacted"


def test_the_token_never_reaches_the_logs(client, invited, caplog):
    import logging

    dispute, link = invited
    token = parse_qs(urlsplit(link).query)["t"][0]
    caplog.set_level(logging.DEBUG)
    client.get(link)
    client.post("/merchant/case/propose/", {"remedy": "refund", "amount": "-1"})  # logged 400
    Client().get("/merchant/", {"t": token[:-2] + "xx"})  # logged 404
    assert dispute.timeline.filter(data__event="merchant_invited").exists()
    assert token not in caplog.text and token[:-2] not in caplog.text
    for event in dispute.timeline.all():
        assert token not in (event.text + str(event.data))
