"""An agency admin invites staff by email in a role; the signed link works once, until it
expires, and creates an account in that role."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts import services
from accounts.models import Invitation
from agencies import roles

from .conftest import sign_in, verified_login

NEW_PASSWORD = "a long walk to Bandung 2026"


def link_in(message) -> str:
    return re.search(r"https?://\S+/accounts/invitation/\S+/", message.body).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def accept(client, path: str, username: str = "dewi", **fields):
    data = {
        "username": username,
        "first_name": "Dewi",
        "last_name": "Lestari",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        **fields,
    }
    return client.post(path, data)


@pytest.fixture
def invite(agency_admin, django_capture_on_commit_callbacks):
    def send(email="dewi@bpkn.example", role=roles.SUPERVISOR, language="en"):
        with django_capture_on_commit_callbacks(execute=True):
            invitation = services.invite_staff(
                email=email, role=role, invited_by=agency_admin, language=language
            )
        return invitation, path_of(link_in(mail.outbox[-1]))

    return send


def test_an_invitation_email_carries_a_link_that_creates_an_account_in_the_role(client, invite):
    invitation, path = invite()
    message = mail.outbox[-1]
    assert message.to == ["dewi@bpkn.example"]
    assert "Supervisor" in message.body
    assert client.get(path).status_code == 200

    response = accept(client, path)
    assert response.status_code == 302
    user = get_user_model().objects.get(username="dewi")
    assert user.email == "dewi@bpkn.example"
    assert user.is_staff and user.is_active
    assert roles.roles_of(user) == {roles.SUPERVISOR}
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None and invitation.user == user
    assert sign_in(client, "dewi", NEW_PASSWORD).status_code == 302


def test_the_email_is_written_in_the_inviters_language(invite):
    invite(language="id")
    assert "Penyelia" in mail.outbox[-1].body
    invite(email="minji@kca.example", role=roles.CASEWORKER, language="ko")
    assert "담당자" in mail.outbox[-1].body


def test_a_link_works_once(client, invite):
    _, path = invite()
    accept(client, path)
    again = accept(client, path, username="someone-else")
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert not get_user_model().objects.filter(username="someone-else").exists()


def test_an_expired_link_is_refused(client, invite):
    invitation, path = invite()
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = accept(client, path)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not get_user_model().objects.filter(username="dewi").exists()


def test_a_link_past_its_signed_age_is_refused_whatever_the_row_says(client, invite, settings):
    _, path = invite()
    settings.ODR_INVITATION_MAX_AGE_DAYS = 0
    response = client.get(path)
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_a_tampered_link_is_refused(client, invite):
    _, path = invite()
    response = client.get(path.replace("/invitation/", "/invitation/x"))
    assert response.status_code == 410
    assert "not valid" in response.content.decode()


def test_a_new_invitation_withdraws_the_previous_one(client, invite):
    first, first_path = invite()
    invite()
    first.refresh_from_db()
    assert first.withdrawn_at is not None
    assert client.get(first_path).status_code == 410


def test_bad_account_details_are_form_errors_and_create_nothing(client, invite, agency_admin):
    _, path = invite()
    taken = accept(client, path, username=agency_admin.username)
    assert "This username is taken." in taken.content.decode()
    weak = accept(client, path, password1="12345678", password2="12345678")
    assert "This password is too common." in weak.content.decode()
    differ = accept(client, path, password2=NEW_PASSWORD + "x")
    assert "The two passwords differ." in differ.content.decode()
    assert not get_user_model().objects.filter(email="dewi@bpkn.example").exists()


def test_no_invitation_to_an_address_that_already_has_an_account(agency_admin, supervisor):
    with pytest.raises(services.InvalidInput) as refused:
        services.invite_staff(
            email=supervisor.email, role=roles.CASEWORKER, invited_by=agency_admin
        )
    assert refused.value.code == "account_exists"
    assert not Invitation.objects.exists()


def test_an_admin_invites_from_the_admin(client, agency_admin, django_capture_on_commit_callbacks):
    verified_login(client, agency_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/accounts/invitation/add/",
            {"email": "rina@bpkn.example", "role": roles.CASEWORKER},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    invitation = Invitation.objects.get(email="rina@bpkn.example")
    assert invitation.role == roles.CASEWORKER
    assert invitation.invited_by == agency_admin
    assert mail.outbox[-1].to == ["rina@bpkn.example"]


def test_the_command_invites(agency_admin, capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "staff", "invite", "joon@bpkn.example", "--role", "caseworker", "--by", "admin-bpkn"
        )
    assert "invited joon@bpkn.example as caseworker" in capsys.readouterr().out
    assert mail.outbox[-1].to == ["joon@bpkn.example"]
