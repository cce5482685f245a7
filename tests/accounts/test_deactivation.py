"""Deactivating a staff account ends the sessions it is signed in with, at once."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client

from accounts import services
from accounts.models import StaffSession
from odr.errors import NotAllowed

from .conftest import sign_in, verified_login


@pytest.fixture
def two_browsers(plain_caseworker):
    browsers = [Client(), Client()]
    for browser in browsers:
        sign_in(browser, "budi")
        assert browser.get("/casework/").status_code == 200
    return browsers


def test_deactivation_ends_every_session_of_the_user(two_browsers, plain_caseworker, agency_admin):
    keys = [browser.session.session_key for browser in two_browsers]
    assert StaffSession.objects.filter(user=plain_caseworker).count() == 2

    ended = services.deactivate_staff(plain_caseworker, by=agency_admin)

    assert ended == 2
    assert not Session.objects.filter(session_key__in=keys).exists()
    for browser in two_browsers:
        response = browser.get("/casework/")
        assert response.status_code == 302 and response.url.startswith("/casework/login/")
    assert sign_in(Client(), "budi").status_code == 200  # the form refuses the inactive account


def test_other_users_stay_signed_in(two_browsers, plain_caseworker, supervisor, agency_admin):
    other = Client()
    sign_in(other, "sari")
    services.deactivate_staff(plain_caseworker, by=agency_admin)
    assert Session.objects.filter(session_key=other.session.session_key).exists()


def test_unticking_active_in_the_admin_ends_the_sessions_too(
    client, two_browsers, plain_caseworker, agency_admin
):
    verified_login(client, agency_admin)
    response = client.post(
        "/admin/auth/user/",
        {"action": "deactivate", "_selected_action": [plain_caseworker.pk]},
    )
    assert response.status_code == 302
    plain_caseworker.refresh_from_db()
    assert not plain_caseworker.is_active
    for browser in two_browsers:
        assert browser.get("/casework/").status_code == 302


def test_saving_the_user_inactive_anywhere_ends_the_sessions(two_browsers, plain_caseworker):
    plain_caseworker.is_active = False
    plain_caseworker.save()
    assert not StaffSession.objects.filter(user=plain_caseworker).exists()
    for browser in two_browsers:
        assert browser.get("/casework/").status_code == 302


def test_an_admin_cannot_deactivate_themselves(agency_admin):
    with pytest.raises(NotAllowed):
        services.deactivate_staff(agency_admin, by=agency_admin)
    agency_admin.refresh_from_db()
    assert agency_admin.is_active


def test_the_command_deactivates(two_browsers, plain_caseworker, agency_admin, capsys):
    call_command("staff", "deactivate", "budi", "--by", "admin-bpkn")
    assert "deactivated budi, 2 session(s) ended" in capsys.readouterr().out
    assert two_browsers[0].get("/casework/").status_code == 302
