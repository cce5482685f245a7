"""This node's private keys: an Ed25519 signing key and an X25519 encryption key.

Private JWKs live in files under ``settings.ODR_KEYS_DIR`` (mode 0600), one file per key id, or
come from the environment (``ODR_SIGNING_JWK`` / ``ODR_ENCRYPTION_JWK``) in production. Only
their public halves enter the database, as AgencyKey rows of this node's agency, which is also
where their validity (grace period after a rotation, revocation) is decided.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from joserfc.jwk import OKPKey

CURVES = {"sig": "Ed25519", "enc": "X25519"}
ENV_NAMES = {"sig": "ODR_SIGNING_JWK", "enc": "ODR_ENCRYPTION_JWK"}


class KeyUnavailable(Exception):
    """This node has no usable private key for the job (run ``manage.py node_keys init``)."""


def keys_dir() -> Path:
    return Path(settings.ODR_KEYS_DIR)


def new_kid(use: str, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    return f"{settings.ODR_NODE}-{use}-{now:%Y%m%d}-{secrets.token_hex(2)}"


def generate(use: str, now: dt.datetime | None = None) -> OKPKey:
    kid = new_kid(use, now)
    return OKPKey.generate_key(CURVES[use], parameters={"kid": kid, "use": use}, private=True)


def _check_private(data: dict, use: str, origin: str) -> OKPKey:
    if data.get("kty") != "OKP" or data.get("crv") != CURVES[use] or "d" not in data:
        raise KeyUnavailable(f"{origin} is not a private OKP {CURVES[use]} JWK")
    if not data.get("kid"):
        raise KeyUnavailable(f"{origin} has no kid")
    data = {**data, "use": use}
    return OKPKey.import_key(data)


def write_private(key: OKPKey) -> Path:
    directory = keys_dir()
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    path = directory / f"{key.kid}.jwk.json"
    # Created with 0600 from the start, so the private key is never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(key.as_dict(private=True), handle)
    return path


def env_keys() -> dict[str, OKPKey]:
    found = {}
    for use, name in ENV_NAMES.items():
        raw = os.environ.get(name)
        if raw:
            try:
                data = json.loads(raw)
            except ValueError as error:
                raise KeyUnavailable(f"{name} is not JSON") from error
            found[use] = _check_private(data, use, name)
    return found


def private_keys() -> dict[str, OKPKey]:
    """Every private key this node holds, by kid (files and environment)."""
    found: dict[str, OKPKey] = {}
    directory = keys_dir()
    if directory.is_dir():
        for path in sorted(directory.glob("*.jwk.json")):
            data = json.loads(path.read_text())
            use = data.get("use")
            if use in CURVES:
                found[data["kid"]] = _check_private(data, use, str(path))
    for key in env_keys().values():
        found[key.kid] = key
    return found


def public_half(key: OKPKey) -> dict:
    public = key.as_dict(private=False)
    return {name: public[name] for name in ("kty", "crv", "x", "kid", "use") if name in public}


def current_key(use: str, at: dt.datetime | None = None) -> OKPKey:
    """The newest valid key of this node for a use, whose private half we hold."""
    from agencies.selectors import this_agency, valid_keys

    held = private_keys()
    candidates = [key for key in valid_keys(this_agency(), use, at) if key.kid in held]
    if not candidates:
        raise KeyUnavailable(f"{settings.ODR_NODE} has no valid private {use} key")
    newest = max(candidates, key=lambda key: (key.not_before, key.pk))
    return held[newest.kid]


def key_by_kid(kid: str, use: str, at: dt.datetime | None = None) -> OKPKey:
    """One of this node's private keys, if it is still valid (not revoked, within its grace)."""
    from agencies.models import AgencyKey

    at = at or timezone.now()
    row = AgencyKey.objects.filter(kid=kid, use=use, agency__code=settings.ODR_NODE).first()
    held = private_keys().get(kid)
    if row is None or held is None or not row.is_valid_at(at):
        raise KeyUnavailable(f"no valid private {use} key {kid!r}")
    return held
