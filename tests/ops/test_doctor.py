"""manage.py doctor: a node's configuration checked, with what to fix."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from agencies.models import AgencyKey, MoU

pytestmark = pytest.mark.django_db


def doctor(*args: str) -> tuple[str, int]:
    out = StringIO()
    try:
        call_command("doctor", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error.returncode
    return out.getvalue(), 0


def findings() -> list[dict]:
    out, _status = doctor("--json")
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def kca(kca):
    """KCA as onboarded: keys pinned, an active MoU, its https inbox."""
    kca.agency.inbox_url = "https://odr.kca.example/relay/inbox/"
    kca.agency.save(update_fields=["inbox_url"])
    return kca


def test_a_configured_node_has_nothing_to_fix(node, kca):
    out, status = doctor()
    assert status == 0, out
    assert "FAIL" not in out
    assert "ok   keys       signing key ID-BPKN-sig-" in out
    assert "MOU-BPKN-KCA-2021 with KR-KCA active" in out
    assert "0 to fix" in out


def test_without_its_private_keys_the_node_must_be_fixed(node, kca, settings, tmp_path):
    settings.ODR_KEYS_DIR = tmp_path / "lost"
    out, status = doctor()
    assert status == 1
    assert "FAIL keys" in out
    assert "fix: run `manage.py node_keys init`" in out


def test_partner_keys_near_expiry_are_flagged(node, kca):
    soon = timezone.now() + dt.timedelta(days=10)
    AgencyKey.objects.filter(agency__code="KR-KCA").update(not_after=soon)
    flagged = [f for f in findings() if f["topic"] == "partners"]
    assert {f["level"] for f in flagged} == {"warn"}
    assert any(f"KR-KCA's signing keys expire by {soon:%Y-%m-%d}" in f["message"] for f in flagged)
    assert all("ask KR-KCA to rotate" in f["fix"] for f in flagged)


def test_an_mou_that_ended_or_ends_soon_is_flagged(node, kca):
    mou = MoU.objects.get(reference="MOU-BPKN-KCA-2021")
    mou.effective_until = timezone.localdate() + dt.timedelta(days=5)
    mou.save(update_fields=["effective_until"])
    [ending] = [f for f in findings() if f["topic"] == "mous"]
    assert ending["level"] == "warn" and "ends on" in ending["message"]

    mou.effective_until = timezone.localdate() - dt.timedelta(days=1)
    mou.save(update_fields=["effective_until"])
    [ended] = [f for f in findings() if f["topic"] == "mous"]
    assert ended["level"] == "fail" and "ended on" in ended["message"]


def test_production_settings_that_weaken_https_or_email_are_flagged(node, kca, settings):
    settings.PRODUCTION = True
    settings.ODR_PUBLIC_URL = "https://odr.bpkn.example"
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.ODR_RELAY_ALLOW_HTTP = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_HOST_USER = "odr"
    settings.EMAIL_USE_TLS = False
    kca.agency.inbox_url = "http://odr.kca.example/relay/inbox/"
    kca.agency.save(update_fields=["inbox_url"])
    out, status = doctor()
    assert status == 1
    assert "FAIL https      ODR_RELAY_ALLOW_HTTP is on" in out
    assert "FAIL email      EMAIL_BACKEND is django.core.mail.backends.filebased" in out
    assert "FAIL partners   KR-KCA's inbox URL is not https" in out
