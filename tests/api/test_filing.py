"""Filing through the API: what the client gets back, and what the agency gets."""

import base64

from api.models import ApiFiling
from disputes.models import Dispute, IntakeChannel, Status, TimelineEvent
from tests.api.conftest import PNG_BYTES, filing


def test_a_valid_filing_creates_a_dispute_at_this_agency(portal):
    client, _key, http = portal
    response = http.post("/api/v1/disputes/", filing(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"].startswith("BPKN-")
    assert response["Location"] == f"/api/v1/disputes/{body['reference']}/"
    assert body["status"] == Status.SUBMITTED
    assert body["home_agency"] == "ID-BPKN"
    assert body["deadlines"]["review_due_on"]
    assert [event["kind"] for event in body["timeline"]] == [TimelineEvent.Kind.FILED]

    dispute = Dispute.objects.get(reference=body["reference"])
    assert dispute.intake_channel == IntakeChannel.API
    assert dispute.merchant_country_id == "KR"
    assert list(dispute.problem_types.values_list("code", flat=True)) == ["non_delivery"]
    assert ApiFiling.objects.get(dispute=dispute).client == client


def test_evidence_can_come_inline_as_base64(portal):
    _client, _key, http = portal
    data = filing(
        evidence=[
            {"name": "receipt.png", "content_base64": base64.b64encode(PNG_BYTES).decode()},
            {"name": "chat.txt", "content_base64": base64.b64encode(b"Seller: sent!").decode()},
        ]
    )
    response = http.post("/api/v1/disputes/", data, format="json")
    assert response.status_code == 201, response.json()
    files = response.json()["evidence"]
    assert [(f["name"], f["content_type"]) for f in files] == [
        ("receipt.png", "image/png"),
        ("chat.txt", "text/plain"),
    ]


def test_invalid_fields_get_a_400_envelope_with_codes_per_field(portal):
    _client, _key, http = portal
    data = filing(consumer_email="not-an-email", category="spaceships", problem_types=[])
    del data["consumer_name"]
    response = http.post("/api/v1/disputes/", data, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"]
    fields = error["fields"]
    assert fields["consumer_email"] == [
        {"code": "invalid", "message": "Enter a valid email address."}
    ]
    assert fields["consumer_name"][0]["code"] == "required"
    assert fields["category"][0]["code"] == "does_not_exist"
    assert fields["problem_types"][0]["code"] == "empty"
    assert not Dispute.objects.exists()


def test_bad_inline_evidence_names_the_file_and_files_nothing(portal):
    _client, _key, http = portal
    data = filing(
        evidence=[
            {"name": "ok.png", "content_base64": base64.b64encode(PNG_BYTES).decode()},
            {"name": "fake.png", "content_base64": base64.b64encode(b"just text").decode()},
            {"name": "broken.pdf", "content_base64": "%%%not base64%%%"},
        ]
    )
    response = http.post("/api/v1/disputes/", data, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "evidence.0.content_base64" not in fields
    assert fields["evidence.1.content_base64"][0]["code"] == "file_type_mismatch"
    assert fields["evidence.2.content_base64"][0]["code"] == "invalid_base64"
    assert not Dispute.objects.exists()


def test_a_rule_of_the_domain_comes_back_with_its_own_code(portal):
    _client, _key, http = portal
    response = http.post("/api/v1/disputes/", filing(purchase_date="2999-01-01"), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "date_in_future"
    assert not Dispute.objects.exists()


def test_error_messages_follow_accept_language(make_client):
    _client, _key, http = make_client(language="id")
    data = filing()
    del data["consumer_name"]
    response = http.post("/api/v1/disputes/", data, format="json")
    assert response.status_code == 400
    assert response["Content-Language"] == "id"
    message = response.json()["error"]["fields"]["consumer_name"][0]["message"]
    assert message != "This field is required."
    assert message  # DRF's own Indonesian catalogue: "Bidang ini harus diisi."


def test_not_json_is_refused_in_the_envelope(portal):
    _client, _key, http = portal
    response = http.post("/api/v1/disputes/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    response = http.post("/api/v1/disputes/", "a=b", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
