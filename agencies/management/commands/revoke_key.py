"""manage.py revoke_key KID — stop trusting a pinned key at once (a partner's, or this node's)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from agencies.models import AgencyKey
from agencies.services import revoke_agency_key


class Command(BaseCommand):
    help = (
        "Revoke a pinned public key by its kid, now: packets signed with it are refused "
        "(key_not_valid) and nothing more is encrypted to it. Other processes of this node "
        "follow within seconds. For a key of this node, rotate first (node_keys rotate) so that "
        "it has a valid key to sign and decrypt with."
    )

    def add_arguments(self, parser):
        parser.add_argument("kid")
        parser.add_argument("--reason", default="", help="why (kept with the key)")

    def handle(self, *args, kid: str, reason: str, **options):
        key = AgencyKey.objects.select_related("agency").filter(kid=kid).first()
        if key is None:
            raise CommandError(f"No pinned key {kid!r}.")
        already = key.revoked_at is not None
        key = revoke_agency_key(key, reason=reason)
        state = "was already revoked" if already else "revoked"
        self.stdout.write(f"{key.agency.code} {key.use} key {key.kid} {state} at {key.revoked_at}")
