"""An administrator registers a client in the admin and sees its key exactly once."""

import re

from django.contrib.auth.models import User
from rest_framework.test import APIClient

from api.models import ApiClient


def test_adding_a_client_in_the_admin_shows_a_working_key_once(seeded, client):
    admin = User.objects.create_superuser("admin", "admin@example.org", "pw-for-tests-only")
    client.force_login(admin)
    response = client.post(
        "/admin/api/apiclient/add/",
        {"name": "Lazada partner portal", "scopes": ["disputes:create", "disputes:read"]},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    match = re.search(r"shown only this once: (odr_[0-9a-f]{8}\.[\w-]+)", page)
    assert match, page
    key = match.group(1)
    stored = ApiClient.objects.get(name="Lazada partner portal")
    assert sorted(stored.scopes) == ["disputes:create", "disputes:read"]
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert http.get("/api/v1/reference-data/").status_code == 200

    change_page = client.get(f"/admin/api/apiclient/{stored.pk}/change/").content.decode()
    assert key not in change_page
    assert stored.key_prefix in change_page
