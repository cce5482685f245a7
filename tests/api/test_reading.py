"""A client sees the disputes it filed, and only those (no IDOR between clients or the web)."""

from disputes import services
from tests.api.conftest import filing
from tests.factories import file_dispute


def test_a_client_reads_status_deadlines_and_the_consumer_timeline(portal, caseworker):
    _client, _key, http = portal
    reference = http.post("/api/v1/disputes/", filing(), format="json").json()["reference"]
    from disputes.models import Dispute

    dispute = Dispute.objects.get(reference=reference)
    actor = services.Actor.caseworker(caseworker)
    services.start_review(dispute, actor=actor)
    services.record_event(
        dispute, actor, "note", text="Internal: merchant known to us", visible_to_consumer=False
    )

    response = http.get(f"/api/v1/disputes/{reference}/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "under_review"
    assert body["status_display"] == "Under review"
    assert set(body["deadlines"]) == {
        "review_due_on",
        "acknowledge_due_on",
        "merchant_contact_due_on",
        "resolution_due_on",
    }
    assert [event["to_status"] for event in body["timeline"]] == ["submitted", "under_review"]
    assert "Internal" not in response.content.decode()


def test_another_clients_dispute_is_404(make_client):
    _a, _key, owner = make_client("Owner portal")
    _b, _key, other = make_client("Other portal")
    reference = owner.post("/api/v1/disputes/", filing(), format="json").json()["reference"]
    response = other.get(f"/api/v1/disputes/{reference}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "Dewi" not in response.content.decode()
    assert owner.get(f"/api/v1/disputes/{reference}/").status_code == 200


def test_a_dispute_filed_on_the_web_is_404(portal):
    _client, _key, http = portal
    web = file_dispute()
    response = http.get(f"/api/v1/disputes/{web.reference}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert http.get("/api/v1/disputes/BPKN-2026-999999/").status_code == 404
