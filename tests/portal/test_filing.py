"""Filing a dispute through the guided web form, step by step, without JavaScript."""

from __future__ import annotations

import pytest
from django import forms
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import EmailValidator
from django.test import Client
from django.utils import translation

from disputes.models import Dispute, IntakeChannel, Status
from portal.mailer import send_due_notifications
from portal.models import Draft, Notification, StagedFile, draft_cookie_name
from tests.portal.conftest import EXE, PDF, PNG, answers, fill_steps

pytestmark = pytest.mark.django_db


def test_home_page_explains_the_service_and_offers_both_ways_in(client, seeded):
    page = client.get("/").content.decode()
    assert "File a dispute" in page and 'href="/file/"' in page
    assert "Find my dispute" in page and 'href="/find/"' in page
    assert "Badan Perlindungan Konsumen Nasional" not in page  # English interface by default
    assert "National Consumer Protection Agency of Indonesia" in page


def test_consumer_files_through_every_step_and_gets_a_receipt(
    client, seeded, django_capture_on_commit_callbacks
):
    client.cookies.load({"odr_language": "id"})
    fill_steps(client, answers(seeded))
    upload = client.post(
        "/file/evidence/",
        {
            "files": [
                SimpleUploadedFile("struk.pdf", PDF, "application/pdf"),
                SimpleUploadedFile("chat.png", PNG, "image/png"),
            ],
            "action": "continue",
        },
    )
    assert upload.status_code == 302 and upload["Location"] == "/file/review/"
    review = client.get("/file/review/").content.decode()
    assert "Seoul Gadget Store" in review and "struk.pdf" in review
    assert 'lang="id"' in review

    refused = client.post("/file/review/", {"action": "submit"})
    assert refused.status_code == 200 and not Dispute.objects.exists()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        done = client.post("/file/review/", {"action": "submit", "confirm": "on"}, follow=True)
    dispute = Dispute.objects.get()
    page = done.content.decode()
    assert dispute.reference in page
    assert dispute.review_due_on is not None
    assert dispute.intake_channel == IntakeChannel.WEB
    assert dispute.filing_language == "id" and dispute.consumer_language == "id"
    assert dispute.status == Status.SUBMITTED
    assert sorted(dispute.evidence.values_list("original_name", flat=True)) == [
        "chat.png",
        "struk.pdf",
    ]
    assert all(len(sha) == 64 for sha in dispute.evidence.values_list("sha256", flat=True))
    # The draft and its staged files are gone; the cookie is cleared.
    assert not Draft.objects.exists() and not StagedFile.objects.exists()
    assert done.redirect_chain and client.cookies[draft_cookie_name()].value == ""

    receipt = Notification.objects.get(dispute=dispute)
    assert receipt.kind == Notification.Kind.FILING_RECEIPT and receipt.language == "id"
    assert callbacks, "the email sender is woken only after the filing commits"
    assert send_due_notifications() == 1
    (email,) = mail.outbox
    assert email.to == ["dewi@example.id"]
    assert dispute.reference in email.subject
    assert "/track/" in email.body


def test_errors_show_next_to_the_field_in_the_consumers_language_and_nothing_is_lost(
    client, seeded
):
    client.cookies.load({"odr_language": "id"})
    typed = {
        "consumer_name": "",
        "consumer_email": "dewi-at-example",
        "consumer_phone": "+62 812 0000 1111",
        "consumer_country": "ID",
        "consumer_language": "id",
        "action": "next",
    }
    response = client.post("/file/you/", typed)
    page = response.content.decode()
    assert response.status_code == 200
    with translation.override("id"):
        required = str(forms.Field.default_error_messages["required"])
        bad_email = str(EmailValidator.message)
    assert required != "This field is required."
    assert f'<ul class="errorlist" id="id_consumer_name_error"><li>{required}</li>' in page
    assert bad_email in page
    assert 'value="dewi-at-example"' in page and 'value="+62 812 0000 1111"' in page
    assert 'aria-invalid="true"' in page

    # Come back later: what was typed is still there, errors and all.
    again = client.get("/file/you/").content.decode()
    assert 'value="dewi-at-example"' in again and 'value="+62 812 0000 1111"' in again


def test_a_draft_is_offered_again_on_the_same_device_only(client, seeded):
    steps = answers(seeded)
    fill_steps(client, {"you": steps["you"], "merchant": steps["merchant"]})
    offer = client.get("/file/")
    assert offer.status_code == 200
    assert 'href="/file/purchase/"' in offer.content.decode()
    cookie = client.cookies[draft_cookie_name()]
    assert cookie["httponly"] and int(cookie["max-age"]) >= 29 * 24 * 3600

    stranger = Client()
    assert stranger.get("/file/").status_code == 302
    assert "Dewi" not in stranger.get("/file/you/").content.decode()

    # A forged cookie value is ignored.
    forger = Client()
    forger.cookies[draft_cookie_name()] = Draft.objects.get().pk
    assert "Dewi" not in forger.get("/file/you/").content.decode()

    # Starting again throws the old answers away.
    client.post("/file/")
    assert "Dewi" not in client.get("/file/you/").content.decode()


def test_an_upload_that_lies_about_its_type_is_refused_with_a_clear_error(client, seeded):
    client.get("/file/")
    response = client.post(
        "/file/evidence/",
        {
            "files": [
                SimpleUploadedFile("receipt.pdf", EXE, "application/pdf"),
                SimpleUploadedFile("photo.jpg", PNG, "image/jpeg"),
                SimpleUploadedFile("ok.png", PNG, "image/png"),
            ],
            "action": "continue",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "receipt.pdf is not a PDF, JPEG, PNG, WebP or plain-text file." in page
    assert "photo.jpg says it is .jpg but its content is image/png." in page
    assert list(StagedFile.objects.values_list("original_name", flat=True)) == ["ok.png"]


def test_the_review_says_plainly_whether_the_claim_is_covered(client, seeded):
    fill_steps(client, answers(seeded))
    covered = client.get("/file/review/").content.decode()
    assert "Korea Consumer Agency" in covered and "Yes." in covered

    client.post("/file/merchant/", {**answers(seeded)["merchant"], "merchant_country": "GB"})
    draft_mou = client.get("/file/review/").content.decode()
    assert "We do not yet have an active agreement" in draft_mou
    assert "You can still send your dispute" in draft_mou
    from agencies.models import DomesticBody

    for body in DomesticBody.objects.filter(country__in=["GB", "ID"]):
        assert body.name in draft_mou
    for body in DomesticBody.objects.filter(country="KR"):
        assert body.name not in draft_mou

    client.post("/file/merchant/", {**answers(seeded)["merchant"], "merchant_country": "ID"})
    domestic = client.get("/file/review/").content.decode()
    assert "not a cross-border dispute" in domestic

    # Out-of-scope claims can still be filed for review.
    response = client.post("/file/review/", {"action": "submit", "confirm": "on"})
    assert response.status_code == 302
    assert Dispute.objects.get().merchant_country_id == "ID"


def test_review_sends_back_to_the_steps_that_need_work(client, seeded):
    steps = answers(seeded)
    fill_steps(client, {"you": steps["you"]})
    page = client.get("/file/review/").content.decode()
    assert 'href="/file/merchant/"' in page and "Some answers are missing" in page
    response = client.post("/file/review/", {"action": "submit", "confirm": "on"})
    assert response.status_code == 200 and not Dispute.objects.exists()


def test_expired_drafts_and_their_files_are_purged(client, seeded):
    import datetime as dt

    from django.core.files.storage import default_storage
    from django.utils import timezone

    from portal.services import purge_expired_drafts

    client.get("/file/")
    client.post("/file/evidence/", {"files": [SimpleUploadedFile("a.png", PNG)], "action": "x"})
    staged = StagedFile.objects.get()
    assert default_storage.exists(staged.file.name)
    Draft.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get("/file/").status_code == 302  # an expired draft is not offered
    assert purge_expired_drafts() >= 1
    assert not StagedFile.objects.filter(pk=staged.pk).exists()


def test_sending_twice_files_one_dispute_and_shows_the_same_confirmation(client, seeded):
    fill_steps(client, answers(seeded))
    first = client.post("/file/review/", {"action": "submit", "confirm": "on"})
    again = client.post("/file/review/", {"action": "submit", "confirm": "on"})
    assert first["Location"] == again["Location"] == "/file/submitted/"
    assert Dispute.objects.count() == 1


def test_saving_while_typing_keeps_the_words_without_scolding_the_consumer(client, seeded):
    client.post("/file/problem/", {"consumer_account": "Barang belum", "action": "autosave"})
    page = client.get("/file/problem/").content.decode()
    assert "Barang belum" in page
    assert "error-summary" not in page and 'aria-invalid="true"' not in page
    client.post("/file/problem/", {"consumer_account": "Barang belum", "action": "next"})
    assert 'aria-invalid="true"' in client.get("/file/problem/").content.decode()
