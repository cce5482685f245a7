"""Evidence downloads: caseworkers only, as an attachment, never sniffed; uploads checked."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import file_dispute
from tests.staff import login

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def dispute(seeded):
    return file_dispute(evidence=[("receipt.png", PNG)])


def download_url(dispute):
    evidence = dispute.evidence.get()
    return reverse("casework:evidence", args=[dispute.reference, evidence.pk])


def test_a_caseworker_downloads_evidence_as_an_attachment(caseworker_client, dispute):
    page = caseworker_client.get(reverse("casework:detail", args=[dispute.reference]))
    assert download_url(dispute) in page.content.decode()
    response = caseworker_client.get(download_url(dispute))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Disposition"].startswith("attachment")
    assert 'filename="receipt.png"' in response["Content-Disposition"]
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_evidence_is_not_served_to_others(client, outsider, dispute):
    url = download_url(dispute)
    assert client.get(url).status_code == 302
    login(client, outsider)
    assert client.get(url).status_code == 403


def test_evidence_of_another_dispute_is_not_found_through_this_one(caseworker_client, dispute):
    other = file_dispute()
    evidence = dispute.evidence.get()
    url = reverse("casework:evidence", args=[other.reference, evidence.pk])
    assert caseworker_client.get(url).status_code == 404


def test_evidence_of_another_agencys_dispute_is_not_found(caseworker_client, settings, dispute):
    settings.ODR_NODE = "GB-UKICC"
    assert caseworker_client.get(download_url(dispute)).status_code == 404


def test_a_caseworker_uploads_a_document(caseworker_client, dispute):
    url = reverse("casework:add_document", args=[dispute.reference])
    upload = SimpleUploadedFile("letter.txt", b"Surat dari konsumen.", "text/plain")
    response = caseworker_client.post(url, {"file": upload, "language": "id", "note": "Letter"})
    assert response.status_code == 302
    added = dispute.evidence.get(original_name="letter.txt")
    assert (added.content_type, added.uploaded_by) == ("text/plain", "home_agency")


def test_an_upload_that_lies_about_its_type_is_refused(caseworker_client, dispute):
    url = reverse("casework:add_document", args=[dispute.reference])
    upload = SimpleUploadedFile(
        "invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00" * 20, "application/pdf"
    )
    response = caseworker_client.post(url, {"file": upload, "language": "en"})
    assert response.status_code == 400
    assert 'id="id_document_file_error"' in response.content.decode()
    assert dispute.evidence.count() == 1
