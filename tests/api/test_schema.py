"""The OpenAPI schema comes from the code; the docs page uses our own static assets."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.test import Client
from drf_spectacular.validation import validate_schema

from tests.api.conftest import filing


def test_the_schema_is_valid_openapi_3_with_every_endpoint(db):
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = (
        response.json() if "json" in response["Content-Type"] else yaml.safe_load(response.content)
    )
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)
    paths = schema["paths"]
    assert "post" in paths["/api/v1/disputes/"]
    assert "get" in paths["/api/v1/disputes/{reference}/"]
    assert "post" in paths["/api/v1/disputes/{reference}/evidence/"]
    assert "get" in paths["/api/v1/reference-data/"]
    assert "get" in paths["/api/v1/coverage/"]
    assert "ApiKey" in schema["components"]["securitySchemes"]
    filing = paths["/api/v1/disputes/"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in filing["parameters"])


def test_the_docs_page_loads_swagger_ui_from_this_server(db):
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn" not in html.lower()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets), assets
    for asset in assets:
        path = asset.removeprefix("/static/")
        assert finders.find(path), f"{asset} is not a static file of this project"


@pytest.mark.browser
def test_swagger_ui_renders_the_operations_in_a_browser(live_server, page, screenshot):
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(live_server.url) else outside.append(request.url)
        ),
    )
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"{live_server.url}/api/docs/")
    page.get_by_text("/api/v1/disputes/", exact=True).first.wait_for()
    assert page.get_by_text("File a dispute").first.is_visible()
    screenshot(page, "swagger")
    assert outside == []


def test_an_unknown_api_url_answers_in_the_api_error_shape(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def _schema() -> dict:
    return Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def test_the_schema_names_both_headers_a_key_may_come_in_and_either_works(make_client):
    _client, key, _http = make_client()
    schema = _schema()

    schemes = schema["components"]["securitySchemes"]
    assert {(scheme["in"], scheme["name"]) for scheme in schemes.values()} == {
        ("header", "Authorization"),
        ("header", "X-API-Key"),
    }
    for operation in (op for path in schema["paths"].values() for op in path.values()):
        # Either header: two alternatives, neither required on its own.
        assert operation["security"] == [{"ApiKey": []}, {"ApiKeyHeader": []}]
    browser = Client()
    by_authorization = browser.get("/api/v1/reference-data/", HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert by_authorization.status_code == 200
    assert browser.get("/api/v1/reference-data/", HTTP_X_API_KEY=key).status_code == 200
    assert browser.get("/api/v1/reference-data/").status_code == 401


def test_required_text_may_not_be_empty_or_blank_in_the_schema_as_in_the_api(portal):
    _client, _key, http = portal
    filing_schema = _schema()["components"]["schemas"]["DisputeFilingRequest"]["properties"]
    for name in ("consumer_name", "merchant_name", "consumer_account"):
        assert filing_schema[name]["minLength"] == 1
        assert filing_schema[name]["pattern"] == r"\S"
    assert filing_schema["problem_types"]["minItems"] == 1

    response = http.post("/api/v1/disputes/", {**filing(), "consumer_name": "  "}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["consumer_name"][0]["code"] == "blank"


def test_every_error_answer_names_its_codes(portal):
    from api.errors import ERROR_CODES

    schema = _schema()
    for status, codes in ERROR_CODES.items():
        component = schema["components"]["schemas"][f"Error{status}"]
        assert component["properties"]["error"]["properties"]["code"]["enum"] == codes
    filing_answers = schema["paths"]["/api/v1/disputes/"]["post"]["responses"]
    assert {"201", "400", "401", "403", "409", "422", "429", "503"} <= set(filing_answers)
    assert "`idempotency_key_reused`" in filing_answers["422"]["description"]
    assert "Retry-After" in filing_answers["429"]["headers"]
