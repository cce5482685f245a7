"""An administrator sees, searches and filters every model in the admin."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import file_dispute

MODELS = [(model._meta.app_label, model._meta.model_name) for model in admin.site._registry]
OURS = [
    item
    for item in MODELS
    if item[0] in {"agencies", "disputes", "relay", "api", "portal", "accounts", "merchants"}
]


@pytest.fixture
def admin_client_with_data(client, django_user_model, seeded):
    user = django_user_model.objects.create_superuser("root", "root@example.org", "pw" * 8)
    client.force_login(user)
    file_dispute()
    return client


@pytest.mark.parametrize(("app_label", "model_name"), OURS, ids=[f"{a}.{m}" for a, m in OURS])
def test_every_model_lists_searches_and_filters(admin_client_with_data, app_label, model_name):
    client = admin_client_with_data
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    response = client.get(url)
    assert response.status_code == 200
    model_admin = admin.site._registry[
        next(m for m in admin.site._registry if m._meta.model_name == model_name)
    ]
    assert model_admin.search_fields, f"{model_name} has no search"
    assert client.get(url, {"q": "BPKN"}).status_code == 200
    if model_admin.list_filter:
        assert "filter" in response.content.decode().lower()


def test_dispute_admin_shows_a_filed_dispute_and_its_timeline(admin_client_with_data):
    from disputes.models import Dispute

    dispute = Dispute.objects.get()
    response = admin_client_with_data.get(
        reverse("admin:disputes_dispute_change", args=[dispute.pk])
    )
    assert response.status_code == 200
    assert dispute.reference in response.content.decode()
    listing = admin_client_with_data.get(
        reverse("admin:disputes_dispute_changelist"), {"status__exact": "submitted"}
    )
    assert dispute.reference in listing.content.decode()
