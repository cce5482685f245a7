"""API clients with keys, and a valid filing, for the intake API tests."""

from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

from api import services
from api.models import Scope

ALL_SCOPES = Scope.values

# A 1×1 PNG: real image bytes for evidence that must pass the content check.
PNG_BYTES = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def make_client(seeded):
    """make_client(name, scopes) -> (ApiClient, key, DRF test client sending the key)."""
    counter = iter(range(1, 1000))

    def make(name: str | None = None, scopes=ALL_SCOPES, language: str = "en"):
        client, key = services.create_client(name or f"Portal {next(counter)}", scopes)
        http = APIClient(HTTP_ACCEPT_LANGUAGE=language)
        http.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client, key, http

    return make


@pytest.fixture
def portal(make_client):
    return make_client("Tokopedia partner portal")


def filing(**overrides) -> dict:
    """What a partner portal sends for a typical Indonesian consumer and a Korean web shop."""
    data = {
        "consumer_name": "Dewi Lestari",
        "consumer_email": "dewi@example.id",
        "consumer_phone": "+62 812 0000 1111",
        "consumer_country": "ID",
        "consumer_language": "id",
        "merchant_name": "Seoul Gadget Store",
        "merchant_website": "https://seoulgadget.example.kr",
        "merchant_country": "KR",
        "purchase_date": "2026-10-01",
        "order_number": "SGS-2026-88812",
        "amount": "1250000.00",
        "currency": "IDR",
        "payment_method": "card",
        "category": "electronics",
        "problem_types": ["non_delivery"],
        "desired_remedy": "refund",
        "consumer_account": "Saya membayar headphone tetapi barang tidak pernah dikirim.",
        "filing_language": "id",
    }
    data.update(overrides)
    return data
