"""Reference data and coverage, in the request's language."""

from tests.api.conftest import filing  # noqa: F401  (keeps the fixtures' module imported)


def test_reference_data_names_follow_accept_language(make_client):
    _client, _key, english = make_client(language="en")
    _client, _key, korean = make_client(language="ko")
    in_english = english.get("/api/v1/reference-data/").json()
    in_korean = korean.get("/api/v1/reference-data/").json()
    assert {"countries", "categories", "problem_types", "remedies", "payment_methods"} <= set(
        in_english
    )
    categories = {item["code"]: item["name"] for item in in_korean["categories"]}
    assert categories["electronics"] == "전자제품·가전"
    english_categories = {item["code"]: item["name"] for item in in_english["categories"]}
    assert english_categories["electronics"] == "Electronics and appliances"
    remedies = {item["code"]: item["name"] for item in in_korean["remedies"]}
    assert remedies["refund"] == "환불"
    assert {c["code"] for c in in_korean["countries"]} >= {"ID", "KR", "GB"}


def test_coverage_of_a_claim_in_scope_of_the_korean_mou(portal):
    _client, _key, http = portal
    response = http.get(
        "/api/v1/coverage/",
        {"merchant_country": "KR", "category": "electronics", "amount": "100", "currency": "USD"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "merchant_country": "KR",
        "home_agency": "ID-BPKN",
        "partner_agency": "KR-KCA",
        "mou": "MOU-BPKN-KCA-2021",
        "covered": True,
        "problems": [],
    }


def test_coverage_of_a_claim_above_the_mou_maximum(portal):
    _client, _key, http = portal
    body = http.get(
        "/api/v1/coverage/", {"merchant_country": "KR", "amount": "9000", "currency": "USD"}
    ).json()
    assert body["covered"] is False
    assert [problem["code"] for problem in body["problems"]] == ["claim_above_maximum"]


def test_no_coverage_where_the_mou_is_only_a_draft(portal):
    _client, _key, http = portal
    body = http.get("/api/v1/coverage/", {"merchant_country": "GB"}).json()
    assert body["covered"] is False
    assert body["mou"] is None
    assert [problem["code"] for problem in body["problems"]] == ["no_active_mou"]


def test_a_domestic_merchant_needs_no_mou(portal):
    _client, _key, http = portal
    body = http.get("/api/v1/coverage/", {"merchant_country": "ID"}).json()
    assert body["covered"] is False
    assert body["problems"][0]["code"] == "domestic"


def test_coverage_query_errors(portal):
    _client, _key, http = portal
    response = http.get("/api/v1/coverage/", {"merchant_country": "XX", "amount": "5"})
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["merchant_country"][0]["code"] == "does_not_exist"
