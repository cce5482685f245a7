"""The doctor: what is wrong or about to go wrong with a node's configuration, and the fix.

``manage.py doctor`` prints these findings. Each is ``ok``, ``warn`` (works today, needs
attention) or ``fail`` (the node cannot do its job, or is unsafe). Only reads.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone

from . import selectors

SOON = dt.timedelta(days=30)
KEY_AGE_TO_ROTATE = dt.timedelta(days=365)


@dataclass(frozen=True)
class Finding:
    level: str  # ok, warn, fail
    topic: str
    message: str
    fix: str = ""


def _ok(topic: str, message: str) -> Finding:
    return Finding("ok", topic, message)


def _warn(topic: str, message: str, fix: str) -> Finding:
    return Finding("warn", topic, message, fix)


def _fail(topic: str, message: str, fix: str) -> Finding:
    return Finding("fail", topic, message, fix)


def services() -> list[Finding]:
    fixes = {
        "database": "check DATABASE_URL and that PostgreSQL accepts this node's connections",
        "broker": "check CELERY_BROKER_URL and that Redis is running",
        "migrations": "run `manage.py migrate`",
        "keys": "run `manage.py node_keys init`, or set ODR_SIGNING_JWK and ODR_ENCRYPTION_JWK",
    }
    found = []
    for check in selectors.readiness():
        if check.ok:
            done = {"migrations": "applied", "keys": "signing and encryption keys held"}
            found.append(_ok(check.name, done.get(check.name, "reachable")))
        else:
            found.append(_fail(check.name, f"not ready ({check.detail})", fixes[check.name]))
    return found


def own_keys(now: dt.datetime) -> list[Finding]:
    from relay.keys import keys_dir
    from relay.refdata import this_agency, valid_keys

    found = []
    agency = this_agency()
    for use, name in (("sig", "signing"), ("enc", "encryption")):
        valid = valid_keys(agency, use, now)
        if not valid:
            found.append(
                _fail("keys", f"no valid {name} key pinned", "run `manage.py node_keys init`")
            )
            continue
        newest = max(valid, key=lambda key: key.not_before)
        if newest.not_after and newest.not_after - now < SOON:
            found.append(
                _warn(
                    "keys",
                    f"this node's {name} key {newest.kid} expires {newest.not_after:%Y-%m-%d}",
                    "run `manage.py node_keys rotate` now",
                )
            )
        elif now - newest.not_before > KEY_AGE_TO_ROTATE:
            found.append(
                _warn(
                    "keys",
                    f"this node's {name} key {newest.kid} is more than a year old",
                    "rotate yearly: `manage.py node_keys rotate`",
                )
            )
        else:
            found.append(_ok("keys", f"{name} key {newest.kid} valid"))
    directory = keys_dir()
    if directory.is_dir():
        loose = [
            path.name
            for path in directory.glob("*.jwk.json")
            if stat.S_IMODE(path.stat().st_mode) & 0o077
        ]
        if loose:
            found.append(
                _fail(
                    "keys",
                    f"private key files readable by others: {', '.join(sorted(loose))}",
                    f"chmod 600 {directory}/*.jwk.json",
                )
            )
    return found


def partners(now: dt.datetime) -> list[Finding]:
    from agencies.models import MoU
    from relay.refdata import this_agency, valid_keys

    found = []
    here = this_agency()
    active = list(
        MoU.objects.filter(Q(agency_a=here) | Q(agency_b=here), status=MoU.Status.ACTIVE)
        .select_related("agency_a", "agency_b")
        .order_by("reference")
    )
    if not active:
        found.append(
            _warn(
                "mous",
                "no active MoU: this node forwards nothing",
                "create and activate MoUs in the admin (docs/operations.md, onboarding)",
            )
        )
    today = now.date()
    for mou in active:
        partner = mou.partner_of(here)
        if mou.effective_until and mou.effective_until < today:
            found.append(
                _fail(
                    "mous",
                    f"{mou.reference} with {partner.code} ended on {mou.effective_until}",
                    "renew it (new effective_until) or terminate it in the admin",
                )
            )
        elif mou.effective_until and mou.effective_until - today < SOON:
            found.append(
                _warn(
                    "mous",
                    f"{mou.reference} with {partner.code} ends on {mou.effective_until}",
                    "agree a renewal with the partner",
                )
            )
        else:
            found.append(_ok("mous", f"{mou.reference} with {partner.code} active"))
        if not partner.inbox_url:
            found.append(
                _fail(
                    "partners",
                    f"{partner.code} has no inbox URL",
                    "set it in admin → Agencies or `seed_agencies --inbox CODE=URL`",
                )
            )
        elif settings.PRODUCTION and not partner.inbox_url.startswith("https://"):
            found.append(
                _fail(
                    "partners",
                    f"{partner.code}'s inbox URL is not https",
                    "ask the partner for its https:// inbox URL",
                )
            )
        for use, name in (("sig", "signing"), ("enc", "encryption")):
            keys = valid_keys(partner, use, now)
            if not keys:
                found.append(
                    _fail(
                        "partners",
                        f"no valid {name} key of {partner.code} pinned",
                        f"`manage.py pin_partner_keys {partner.code} --file …` after checking "
                        "the fingerprints",
                    )
                )
                continue
            lasting = [key for key in keys if not key.not_after or key.not_after - now >= SOON]
            if not lasting:
                ends = max(key.not_after for key in keys)
                found.append(
                    _warn(
                        "partners",
                        f"{partner.code}'s {name} keys expire by {ends:%Y-%m-%d}",
                        f"ask {partner.code} to rotate and pin its new keys",
                    )
                )
    return found


def relay_state() -> list[Finding]:
    stuck = {}
    for partner, state, count, _sent in selectors.outbound_packets_by_state():
        if state in ("dead", "refused") and count:
            stuck[partner] = stuck.get(partner, 0) + count
    if not stuck:
        return [_ok("relay", "no dead-lettered or refused packets")]
    listed = ", ".join(f"{partner}: {count}" for partner, count in sorted(stuck.items()))
    return [
        _warn(
            "relay",
            f"dead-lettered or refused packets ({listed})",
            "see `manage.py relay_log`; fix the cause, then retry them in the admin",
        )
    ]


def email() -> list[Finding]:
    found = []
    backend = settings.EMAIL_BACKEND
    if settings.PRODUCTION and "smtp" not in backend:
        found.append(
            _fail("email", f"EMAIL_BACKEND is {backend}", "unset EMAIL_BACKEND to use SMTP")
        )
    if "smtp" in backend:
        if settings.EMAIL_HOST in ("localhost", "127.0.0.1") and settings.PRODUCTION:
            found.append(
                _warn(
                    "email",
                    "EMAIL_HOST is localhost",
                    "set EMAIL_HOST to your mail relay unless one listens on this machine",
                )
            )
        if settings.EMAIL_HOST_USER and not settings.EMAIL_USE_TLS:
            found.append(
                _fail(
                    "email",
                    "SMTP login without TLS sends the password in clear",
                    "set EMAIL_USE_TLS=1",
                )
            )
    if settings.DEFAULT_FROM_EMAIL.endswith(".invalid"):
        found.append(
            _warn(
                "email",
                f"DEFAULT_FROM_EMAIL is {settings.DEFAULT_FROM_EMAIL}",
                "set DEFAULT_FROM_EMAIL to an address of your agency's domain",
            )
        )
    waiting, failing = selectors.email_backlog()
    if failing:
        found.append(
            _warn(
                "email",
                f"{failing} consumer emails have failed at least once ({waiting} waiting)",
                "admin → Consumer portal → Notifications shows the last error",
            )
        )
    if not found:
        found.append(_ok("email", f"{backend.rsplit('.', 1)[-1]}, {waiting} waiting"))
    return found


def https() -> list[Finding]:
    found = []
    if not settings.PRODUCTION:
        return [
            _warn(
                "https",
                f"ODR_ENV={settings.ODR_ENV}: the production safeguards are off",
                "set ODR_ENV=production on a real node",
            )
        ]
    if not settings.ODR_PUBLIC_URL.startswith("https://"):
        found.append(_fail("https", "ODR_PUBLIC_URL is not https", "use the https:// URL"))
    if not settings.SECURE_SSL_REDIRECT:
        found.append(
            _warn(
                "https",
                "DJANGO_SECURE_SSL_REDIRECT is off",
                "turn it on unless the proxy redirects http to https itself",
            )
        )
    if settings.SECURE_HSTS_SECONDS < 31536000:
        found.append(
            _warn("https", "HSTS is shorter than a year", "DJANGO_SECURE_HSTS_SECONDS=31536000")
        )
    if settings.ODR_RELAY_ALLOW_HTTP:
        found.append(
            _fail(
                "https",
                "ODR_RELAY_ALLOW_HTTP is on: packets may travel unencrypted by TLS",
                "unset ODR_RELAY_ALLOW_HTTP",
            )
        )
    if not settings.ODR_METRICS_TOKEN:
        found.append(
            _warn(
                "metrics",
                "ODR_METRICS_TOKEN is not set: /metrics is refused",
                "set ODR_METRICS_TOKEN and give it to Prometheus as a bearer token",
            )
        )
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") is None:
        found.append(
            _warn(
                "metrics",
                "PROMETHEUS_MULTIPROC_DIR is not set: request and task counts are per process",
                "set it to a directory emptied at start (deploy/ does)",
            )
        )
    if not found:
        found.append(_ok("https", "https only, HSTS, secure cookies"))
    return found


def findings(now: dt.datetime | None = None) -> list[Finding]:
    now = now or timezone.now()
    found = services()
    if all(f.level == "ok" for f in found if f.topic in ("database", "migrations")):
        try:
            found += own_keys(now) + partners(now) + relay_state()
        except DatabaseError as error:
            found.append(_fail("database", f"query failed ({type(error).__name__})", ""))
    found += email() + https()
    return found
