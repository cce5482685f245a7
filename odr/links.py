"""Capability links: a signed, expiring token naming one object and the version of its links.

Bumping the object's version field revokes every link issued before (a resend issues a new
link and so revokes the old ones). The portal's tracking link and the merchant's link are both
made here; only their salt, version field and lifetime differ.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.core import signing


@dataclass(frozen=True)
class Opened:
    pk: int
    version: int
    expires_at: float  # a Unix time


@dataclass(frozen=True)
class CapabilityLink:
    salt: str
    version_field: str
    max_age: dt.timedelta

    def _signer(self) -> signing.TimestampSigner:
        return signing.TimestampSigner(salt=self.salt)

    def make(self, instance) -> str:
        return self._signer().sign_object({"d": instance.pk, "v": self.version_of(instance)})

    def version_of(self, instance) -> int:
        return getattr(instance, self.version_field)

    def open(self, token: str) -> Opened | None:
        """What a token names, or None if it is tampered or expired (not checked: revocation,
        which needs the object; see ``is_current``)."""
        seconds = self.max_age.total_seconds()
        try:
            payload = self._signer().unsign_object(token, max_age=seconds)
            issued = signing.b62_decode(token.rsplit(":", 2)[1])
        except (signing.BadSignature, ValueError, TypeError, IndexError):
            return None
        if not isinstance(payload, dict):
            return None
        pk, version = payload.get("d"), payload.get("v")
        if not isinstance(pk, int) or not isinstance(version, int):
            return None
        return Opened(pk, version, issued + seconds)

    def is_current(self, opened: Opened, instance) -> bool:
        """Not revoked (the object's links are still at this version) and not expired."""
        return (
            instance is not None
            and instance.pk == opened.pk
            and self.version_of(instance) == opened.version
            and time.time() < opened.expires_at
        )
