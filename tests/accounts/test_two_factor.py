"""Supervisors and agency admins reach staff pages only after a one-time code from an
authenticator app (TOTP); caseworkers sign in with their password alone."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from .conftest import code_for, sign_in


def let_throttle_pass(device):
    """As if the wait after the last wrong code had passed."""
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(hours=1)
    )


def test_a_caseworker_signs_in_with_a_password_alone(client, plain_caseworker):
    response = sign_in(client, "budi")
    assert response.status_code == 302
    assert client.get("/casework/").status_code == 200


def test_a_supervisor_sets_up_an_authenticator_at_first_sign_in(client, supervisor):
    sign_in(client, "sari")
    response = client.get("/casework/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/two-factor/?next=")
    setup = client.get(response.url, follow=True)
    assert setup.redirect_chain[-1][0].startswith("/accounts/two-factor/setup/")
    assert "<svg" in setup.content.decode()
    device = TOTPDevice.objects.get(user=supervisor)
    assert not device.confirmed

    wrong = client.post("/accounts/two-factor/setup/", {"token": "000000", "next": "/casework/"})
    assert "That code is not right" in wrong.content.decode()
    assert client.get("/casework/").status_code == 302
    let_throttle_pass(device)

    right = client.post(
        "/accounts/two-factor/setup/", {"token": code_for(device), "next": "/casework/"}
    )
    assert right.status_code == 302 and right.url == "/casework/"
    assert TOTPDevice.objects.get(user=supervisor).confirmed
    assert client.get("/casework/").status_code == 200


def test_later_sign_ins_ask_for_a_code_and_refuse_a_wrong_one(client, supervisor):
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    sign_in(client, "sari")
    page = client.get("/accounts/two-factor/?next=/casework/")
    assert "Two-factor sign-in" in page.content.decode()
    wrong = client.post("/accounts/two-factor/", {"token": "123456", "next": "/casework/"})
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()
    assert client.get("/casework/").status_code == 302
    # Straight after a wrong code, even the right one waits: guessing is slowed down.
    throttled = client.post(
        "/accounts/two-factor/", {"token": code_for(device), "next": "/casework/"}
    )
    assert "Too many wrong codes" in throttled.content.decode()
    let_throttle_pass(device)

    right = client.post("/accounts/two-factor/", {"token": code_for(device), "next": "/casework/"})
    assert right.status_code == 302 and right.url == "/casework/"
    assert client.get("/casework/").status_code == 200


def test_a_code_is_used_once(client, supervisor):
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    code = code_for(device)
    sign_in(client, "sari")
    client.post("/accounts/two-factor/", {"token": code, "next": "/casework/"})
    client.post("/casework/logout/")
    sign_in(client, "sari")
    replayed = client.post("/accounts/two-factor/", {"token": code, "next": "/casework/"})
    assert "That code is not right" in replayed.content.decode()
    assert client.get("/casework/").status_code == 302


def test_an_agency_admin_needs_the_code_for_the_admin_too(client, agency_admin):
    device = TOTPDevice.objects.create(user=agency_admin, name="phone", confirmed=True)
    sign_in(client, "admin-bpkn", next_url="/admin/")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/two-factor/")
    client.post("/accounts/two-factor/", {"token": code_for(device), "next": "/admin/"})
    assert client.get("/admin/").status_code == 200


def test_the_next_address_must_stay_on_this_node(client, supervisor):
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    sign_in(client, "sari")
    response = client.post(
        "/accounts/two-factor/", {"token": code_for(device), "next": "https://evil.example/"}
    )
    assert response.url == "/casework/"


def test_two_factor_pages_need_a_signed_in_user(client, db):
    response = client.get("/accounts/two-factor/setup/")
    assert response.status_code == 302
    assert response.url.startswith("/casework/login/")
