"""Each endpoint needs a scope; a client without it gets 403 missing_scope and nothing happens."""

from api.models import Scope
from disputes.models import Dispute
from tests.api.conftest import PNG_BYTES, filing


def test_filing_needs_disputes_create(make_client):
    _client, _key, http = make_client(scopes=[Scope.DISPUTES_READ])
    response = http.post("/api/v1/disputes/", filing(), format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
    assert "disputes:create" in response.json()["error"]["message"]
    assert not Dispute.objects.exists()


def test_reading_needs_disputes_read(make_client):
    _client, _key, http = make_client(scopes=[Scope.DISPUTES_CREATE])
    reference = http.post("/api/v1/disputes/", filing(), format="json").json()["reference"]
    response = http.get(f"/api/v1/disputes/{reference}/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"


def test_adding_evidence_needs_evidence_create(make_client):
    _client, _key, http = make_client(scopes=[Scope.DISPUTES_CREATE, Scope.DISPUTES_READ])
    reference = http.post("/api/v1/disputes/", filing(), format="json").json()["reference"]
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = http.post(
        f"/api/v1/disputes/{reference}/evidence/",
        {"file": SimpleUploadedFile("photo.png", PNG_BYTES)},
        format="multipart",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
    assert not Dispute.objects.get(reference=reference).evidence.exists()
