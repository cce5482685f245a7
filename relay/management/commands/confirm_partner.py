"""manage.py confirm_partner CODE: the key thumbprints were compared out of band and match."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from agencies.models import Agency
from odr.errors import DomainError
from relay import cards


class Command(BaseCommand):
    help = "Confirm a prospective partner after comparing its key thumbprints out of band."

    def add_arguments(self, parser):
        parser.add_argument("agency_code")
        parser.add_argument(
            "--show", action="store_true", help="only print the thumbprints to compare"
        )

    def handle(self, *args, agency_code: str, show: bool, **options):
        try:
            agency = Agency.objects.get(code=agency_code)
        except Agency.DoesNotExist as error:
            raise CommandError(f"unknown_agency: {agency_code}") from error
        for use, kid, value in cards.key_thumbprints(agency):
            self.stdout.write(f"{use} {kid} thumbprint {cards.grouped(value)}")
        if show:
            return
        try:
            cards.confirm_partner(agency)
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from error
        self.stdout.write(f"confirmed {agency.code}")
