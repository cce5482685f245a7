"""This node's private keys: an Ed25519 signing key and an X25519 encryption key.

Private JWKs live in files under ``settings.ODR_KEYS_DIR`` (mode 0600), one file per key id, or
come from the environment (``ODR_SIGNING_JWK`` / ``ODR_ENCRYPTION_JWK``) in production. Only
their public halves enter the database, as AgencyKey rows of this node's agency, which is also
where their validity (grace period after a rotation, revocation) is decided.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import secrets
import threading
import time
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
    forget_held_keys()
    return path


@functools.lru_cache(maxsize=8)
def _env_key(use: str, name: str, raw: str) -> OKPKey:
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise KeyUnavailable(f"{name} is not JSON") from error
    return _check_private(data, use, name)


def env_keys() -> dict[str, OKPKey]:
    found = {}
    for use, name in ENV_NAMES.items():
        raw = os.environ.get(name)
        if raw:
            found[use] = _env_key(use, name, raw)
    return found


# Parsed key files by (path, modification time, size, inode): every packet needs this node's keys
# twice, and reading and importing the JWK files each time cost more than the cryptography. A
# file written, replaced or removed since (rotation, another process) changes its stat and is read
# again.
_parsed: dict[tuple, OKPKey | None] = {}
_parsed_lock = threading.Lock()


def _key_file(path: Path) -> OKPKey | None:
    stat = path.stat()
    signature = (str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)
    if signature in _parsed:
        return _parsed[signature]
    data = json.loads(path.read_text())
    use = data.get("use")
    key = _check_private(data, use, str(path)) if use in CURVES else None
    with _parsed_lock:
        if len(_parsed) > 256:
            _parsed.clear()
        _parsed[signature] = key
    return key


# The whole set, for a few seconds: listing the directory and stat-ing each file for every
# packet (twice) cost more than the signature. A key this process writes clears it; one that
# another process wrote (a rotation) is read at once by a caller that needs it and finds it
# missing, and by every caller when the set expires.
HELD_SECONDS = 5.0
_held: tuple[float, tuple, dict[str, OKPKey]] | None = None


def private_keys(*, fresh: bool = False) -> dict[str, OKPKey]:
    """Every private key this node holds, by kid (files and environment)."""
    global _held
    origin = (str(keys_dir()), tuple(os.environ.get(name, "") for name in ENV_NAMES.values()))
    held = _held
    if not fresh and held is not None and held[0] > time.monotonic() and held[1] == origin:
        return held[2]
    found = _read_private_keys()
    _held = (time.monotonic() + HELD_SECONDS, origin, found)
    return found


def forget_held_keys() -> None:
    global _held
    _held = None


def _read_private_keys() -> dict[str, OKPKey]:
    found: dict[str, OKPKey] = {}
    directory = keys_dir()
    if directory.is_dir():
        for path in sorted(directory.glob("*.jwk.json")):
            try:
                key = _key_file(path)
            except FileNotFoundError:
                continue
            if key is not None:
                found[key.kid] = key
    for key in env_keys().values():
        found[key.kid] = key
    return found


def public_half(key: OKPKey) -> dict:
    public = key.as_dict(private=False)
    return {name: public[name] for name in ("kty", "crv", "x", "kid", "use") if name in public}


def current_key(use: str, at: dt.datetime | None = None) -> OKPKey:
    """The newest valid key of this node for a use, whose private half we hold."""
    from .refdata import this_agency, valid_keys

    valid = sorted(
        valid_keys(this_agency(), use, at), key=lambda key: (key.not_before, key.pk), reverse=True
    )
    held = private_keys()
    if valid and valid[0].kid not in held:
        held = private_keys(fresh=True)  # the newest key, written by another process (rotation)
    newest = next((key for key in valid if key.kid in held), None)
    if newest is None:
        raise KeyUnavailable(f"{settings.ODR_NODE} has no valid private {use} key")
    return held[newest.kid]


def key_by_kid(kid: str, use: str, at: dt.datetime | None = None) -> OKPKey:
    """One of this node's private keys, if it is still valid (not revoked, within its grace)."""
    from .refdata import own_key_row

    at = at or timezone.now()
    row = own_key_row(kid, use)
    held = private_keys().get(kid) or private_keys(fresh=True).get(kid)
    if row is None or held is None or not row.is_valid_at(at):
        raise KeyUnavailable(f"no valid private {use} key {kid!r}")
    return held
