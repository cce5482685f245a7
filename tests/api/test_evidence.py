"""Evidence uploads are judged by their content, not their name."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from disputes.models import Dispute, TimelineEvent
from tests.api.conftest import PNG_BYTES, filing


def upload(http, reference, name, content, **headers):
    return http.post(
        f"/api/v1/disputes/{reference}/evidence/",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
        **headers,
    )


def test_a_png_that_is_really_text_is_refused(portal):
    _client, _key, http = portal
    reference = http.post("/api/v1/disputes/", filing(), format="json").json()["reference"]
    response = upload(http, reference, "receipt.png", b"I am only text, not an image.")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["file"][0]["code"] == "file_type_mismatch"
    assert not Dispute.objects.get(reference=reference).evidence.exists()


def test_a_real_png_is_stored_and_shown_on_the_timeline(portal):
    _client, _key, http = portal
    reference = http.post("/api/v1/disputes/", filing(), format="json").json()["reference"]
    response = upload(http, reference, "receipt.png", PNG_BYTES)
    assert response.status_code == 201, response.json()
    assert response.json()["evidence"]["content_type"] == "image/png"
    dispute = Dispute.objects.get(reference=reference)
    assert dispute.evidence.get().size == len(PNG_BYTES)
    assert dispute.timeline.filter(kind=TimelineEvent.Kind.DOCUMENT).count() == 1
    detail = http.get(f"/api/v1/disputes/{reference}/").json()
    assert [f["name"] for f in detail["evidence"]] == ["receipt.png"]


def test_an_executable_is_refused_whatever_its_name(portal):
    _client, _key, http = portal
    reference = http.post("/api/v1/disputes/", filing(), format="json").json()["reference"]
    response = upload(http, reference, "invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"][0]["code"] == "file_type_not_allowed"


@override_settings(ODR_MAX_EVIDENCE_FILE_BYTES=1000)
def test_a_file_over_the_limit_is_refused(portal):
    _client, _key, http = portal
    reference = http.post("/api/v1/disputes/", filing(), format="json").json()["reference"]
    response = upload(http, reference, "long.txt", b"a" * 1001)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"][0]["code"] == "file_too_large"


def test_evidence_for_another_clients_dispute_is_404(make_client):
    _a, _key, owner = make_client("Owner portal")
    _b, _key, other = make_client("Other portal")
    reference = owner.post("/api/v1/disputes/", filing(), format="json").json()["reference"]
    response = upload(other, reference, "receipt.png", PNG_BYTES)
    assert response.status_code == 404
    assert not Dispute.objects.get(reference=reference).evidence.exists()


def test_an_evidence_upload_is_idempotent_too(portal):
    _client, _key, http = portal
    reference = http.post("/api/v1/disputes/", filing(), format="json").json()["reference"]
    first = upload(http, reference, "receipt.png", PNG_BYTES, HTTP_IDEMPOTENCY_KEY="e-1")
    again = upload(http, reference, "receipt.png", PNG_BYTES, HTTP_IDEMPOTENCY_KEY="e-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    other = upload(http, reference, "chat.txt", b"hello", HTTP_IDEMPOTENCY_KEY="e-1")
    assert other.status_code == 422
    assert Dispute.objects.get(reference=reference).evidence.count() == 1
