"""manage.py relay_examples — print docs/protocol-examples.md (one example packet per type)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from relay.examples import build, markdown


class Command(BaseCommand):
    help = "Print example packets of every type, with the example keys that open and verify them."

    def handle(self, *args, **options):
        self.stdout.write(markdown(build()))
