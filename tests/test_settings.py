"""Production mode refuses to start without the settings that keep people's data safe."""

import os
import re
import secrets
import subprocess
import sys

from django.conf import settings

SAFE = {
    "ODR_ENV": "production",
    "DJANGO_SECRET_KEY": "x" * 64,
    "DJANGO_ALLOWED_HOSTS": "odr.bpkn.example",
    "ODR_PUBLIC_URL": "https://odr.bpkn.example",
    "DATABASE_URL": "postgres://odr@db.example/odr",
    "CELERY_BROKER_URL": "redis://redis.example:6379/0",
    "DJANGO_DEBUG": "0",
}


def production_environment(**overrides) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ODR_", "DJANGO_", "DATABASE_", "CELERY_"))
    }
    environment.update({key: value for key, value in {**SAFE, **overrides}.items() if value})
    return environment


def load_settings(**overrides) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import odr.settings as s; print(s.SECURE_HSTS_SECONDS)"],
        cwd=settings.BASE_DIR,
        env=production_environment(**overrides),
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_starts_with_every_safety_setting():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 31536000


def test_production_refuses_to_start_without_a_secret_key_or_hosts():
    for missing in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL"):
        result = load_settings(**{missing: ""})
        assert result.returncode != 0
        assert missing in result.stderr


def test_production_refuses_plain_http_a_short_key_and_debug():
    assert "https" in load_settings(ODR_PUBLIC_URL="http://odr.bpkn.example").stderr
    assert "at least 50" in load_settings(DJANGO_SECRET_KEY="short").stderr
    assert "DEBUG" in load_settings(DJANGO_DEBUG="1").stderr


def test_the_deployment_check_finds_nothing_but_the_hsts_preload_list(tmp_path):
    """Being on the browsers' HSTS preload list is the operator's decision (docs/operations.md)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=production_environment(
            DJANGO_SECRET_KEY=secrets.token_urlsafe(64), ODR_DATA_DIR=str(tmp_path)
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert re.findall(r"\((\w+\.[WE]\d+)\)", output) == ["security.W021"], output
