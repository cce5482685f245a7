"""Signing staff in, in tests, as the node signs them in: supervisors and agency admins only get
to staff pages after their second factor (accounts.middleware)."""

from __future__ import annotations

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.selectors import requires_two_factor


def verified_login(client, user) -> TOTPDevice:
    """Signed in with a confirmed authenticator, as after accounts' two-factor step."""
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def login(client, user) -> None:
    """Signed in, and for a role that needs it, past the second factor."""
    if requires_two_factor(user):
        verified_login(client, user)
    else:
        client.force_login(user)


def totp_code(device: TOTPDevice) -> str:
    """The code an authenticator app shows now, or, if this step's code was used already (a
    second sign-in within 30 s), the next step's, which the device's tolerance accepts."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if totp.t() <= device.last_t:
        totp.time += (device.last_t + 1 - totp.t()) * device.step
    return f"{totp.token():0{device.digits}d}"


def browser_sign_in(page, live_server, user, password: str) -> None:
    """Through the sign-in form, and the code page for a role that needs a second factor."""
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/casework/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    device = None
    if requires_two_factor(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        device = device or TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.get_by_role("button", name="Sign in").click()
    if device is not None:
        page.wait_for_url("**/accounts/two-factor/**")
        device.refresh_from_db()
        page.get_by_label("Six-digit code").fill(totp_code(device))
        page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{live_server.url}/casework/")
