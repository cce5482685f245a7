"""manage.py node_keys init|export|rotate — this node's signing and encryption keys."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from agencies.selectors import public_jwks, this_agency
from odr.errors import DomainError
from relay import partners
from relay.keys import KeyUnavailable


class Command(BaseCommand):
    help = (
        "init: create this node's Ed25519 and X25519 keys if absent and pin their public halves; "
        "export: print the public JWK set; rotate: new keys, old ones valid for a grace period, "
        "partners told with a partner.keys packet."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["init", "export", "rotate"])
        parser.add_argument(
            "--grace-seconds",
            type=int,
            default=None,
            help="rotate: how long the old keys stay valid (default ODR_KEY_GRACE_SECONDS; "
            "at least 300). Use a short one if a key may be exposed, and revoke it with the "
            "partners by phone as well.",
        )

    def handle(self, *args, action: str, grace_seconds: int | None = None, **options):
        try:
            if action == "init":
                for use, kid, created in partners.init_node_keys():
                    state = "created" if created else "present"
                    self.stderr.write(f"{use} key {kid}: {state}")
            elif action == "export":
                self.stdout.write(json.dumps(public_jwks(this_agency()), indent=2))
            else:
                queued = partners.rotate_node_keys(grace_seconds=grace_seconds)
                for use, kid, _created in partners.init_node_keys():
                    self.stderr.write(f"{use} key now {kid}")
                for packet in queued:
                    self.stderr.write(
                        f"partner.keys {packet.pid} queued for {packet.recipient.code}"
                    )
        except (KeyUnavailable, DomainError) as error:
            raise CommandError(str(error)) from error
