from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django_otp.oath import TOTP

from agencies import roles
from tests.staff import verified_login  # noqa: F401  (the accounts tests import it from here)

PASSWORD = "correct horse battery staple"


def make_staff(username: str, role: str, **extra):
    user = get_user_model().objects.create_user(
        username, f"{username}@bpkn.example", PASSWORD, is_staff=True, **extra
    )
    user.groups.add(roles.get_or_create(role))
    return user


def code_for(device, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows for the device now (or a step later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def supervisor(db, seeded):
    return make_staff("sari", roles.SUPERVISOR, first_name="Sari")


@pytest.fixture
def agency_admin(db, seeded):
    return make_staff("admin-bpkn", roles.AGENCY_ADMIN, first_name="Adi")


@pytest.fixture
def plain_caseworker(db, seeded):
    return make_staff("budi", roles.CASEWORKER, first_name="Budi")


def sign_in(client, username: str, password: str = PASSWORD, next_url: str = "/casework/"):
    return client.post(
        f"/casework/login/?next={next_url}",
        {"username": username, "password": password, "next": next_url},
    )
