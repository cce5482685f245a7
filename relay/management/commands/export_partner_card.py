"""manage.py export_partner_card [--output FILE]: this node's partner card, to send to a partner."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from agencies.models import Agency
from relay import cards


class Command(BaseCommand):
    help = "Print (or write) this node's partner card: agency, relay inbox, protocol, public keys."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="write the card to this file instead of stdout")

    def handle(self, *args, output: str | None, **options):
        try:
            card = cards.own_card()
        except Agency.DoesNotExist as error:
            raise CommandError("this node's agency is not set up: run seed_agencies") from error
        if not card["keys"]:
            raise CommandError("no valid keys: run `manage.py node_keys init` first")
        text = json.dumps(card, indent=2, ensure_ascii=False) + "\n"
        if output:
            Path(output).write_text(text)
        else:
            self.stdout.write(text, ending="")
        for use, kid, value in ((k["use"], k["kid"], k["thumbprint"]) for k in card["keys"]):
            self.stderr.write(f"{use} {kid} thumbprint {cards.grouped(value)}")
