"""An agency admin in a real Chromium: first sign-in sets up the authenticator, the next one asks
for a code; both land in the admin only after the code."""

from __future__ import annotations

import base64
import time

import pytest
from django_otp.oath import TOTP

from agencies import roles

from .conftest import PASSWORD, make_staff

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_user(transactional_db, seeded):
    return make_staff("admin-bpkn", roles.AGENCY_ADMIN, first_name="Adi")


def code_from_key(base32_key: str, *, steps_ahead: int = 0) -> str:
    totp = TOTP(base64.b32decode(base32_key.replace(" ", "")), step=30, digits=6)
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def sign_in(page, live_server, next_url="/admin/"):
    page.goto(f"{live_server.url}{next_url}")
    page.wait_for_url("**/login/**")
    page.get_by_label("Username").fill("admin-bpkn")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").or_(
        page.get_by_role("button", name="Sign in")
    ).click()


def test_an_agency_admin_signs_in_with_two_factor(page, live_server, admin_user, screenshot):
    sign_in(page, live_server)
    page.wait_for_url("**/accounts/two-factor/setup/**")
    assert page.locator(".totp-qr svg").is_visible()
    screenshot(page, "setup")
    key = page.locator("#totp-secret").inner_text()

    page.get_by_label("Six-digit code").fill("000000")
    page.get_by_role("button", name="Confirm").click()
    assert "That code is not right" in page.locator(".errorlist").inner_text()
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.accounts.test_two_factor import let_throttle_pass

    let_throttle_pass(TOTPDevice.objects.get(user=admin_user))
    page.get_by_label("Six-digit code").fill(code_from_key(key))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    assert "Site administration" in page.content()
    screenshot(page, "admin")

    page.get_by_role("button", name="Log out").click()
    sign_in(page, live_server)
    page.wait_for_url("**/accounts/two-factor/?next=**")
    screenshot(page, "code")
    # The code of the next 30-second step: the one just used cannot be used again.
    page.get_by_label("Six-digit code").fill(code_from_key(key, steps_ahead=1))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.get_by_role("link", name="Staff invitations").is_visible()
