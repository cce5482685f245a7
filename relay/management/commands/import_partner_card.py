"""manage.py import_partner_card FILE|URL: store a partner as prospective from its card."""

from __future__ import annotations

from pathlib import Path

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from odr.errors import DomainError
from relay import cards


def read_card(source: str) -> bytes:
    if source.startswith(("https://", "http://")):
        if source.startswith("http://") and not settings.ODR_RELAY_ALLOW_HTTP:
            raise CommandError("insecure_url: plain http is not allowed (ODR_RELAY_ALLOW_HTTP)")
        try:
            response = httpx.get(source, timeout=settings.ODR_RELAY_TIMEOUT_SECONDS)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise CommandError(f"fetch_failed: {error}") from error
        return response.content
    try:
        return Path(source).read_bytes()
    except OSError as error:
        raise CommandError(f"unreadable: {error}") from error


class Command(BaseCommand):
    help = (
        "Import a partner's card (a file, or its https://…/.well-known/odr-partner.json): the "
        "partner is stored as prospective and its key thumbprints printed, to compare out of band."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="a card file, or the partner's card URL")

    def handle(self, *args, source: str, **options):
        try:
            imported = cards.import_partner_card(read_card(source))
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from error
        agency = imported.agency
        self.stdout.write(f"stored {agency.code} ({agency.name}) as prospective")
        for use, kid, value in imported.thumbprints:
            self.stdout.write(f"  {use} {kid}\n    thumbprint {cards.grouped(value)}")
        self.stdout.write(
            "Compare these thumbprints with the partner by phone or letter, then run "
            f"`manage.py confirm_partner {agency.code}`."
        )
