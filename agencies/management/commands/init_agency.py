"""manage.py init_agency: the agency a new node serves, from its own documents."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from agencies.services import register_own_agency
from odr.errors import DomainError


def _numbers(value: str) -> list[int]:
    return [int(item) for item in value.split(",") if item.strip()]


def _words(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class Command(BaseCommand):
    help = (
        "Set up the agency this node serves (ODR_NODE) when it is not one the seed knows: run "
        "`seed_agencies --reference-only` first, then this, then `node_keys init`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--code", default=None, help="defaults to ODR_NODE, e.g. MY-NCCC")
        parser.add_argument("--prefix", required=True, help="dispute reference prefix, e.g. NCCC")
        parser.add_argument("--short-name", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--country", required=True, help="ISO 3166 code, e.g. MY")
        parser.add_argument("--country-name", required=True)
        parser.add_argument("--currency", required=True, help="ISO 4217 code, e.g. MYR")
        parser.add_argument("--time-zone", required=True, help="e.g. Asia/Kuala_Lumpur")
        parser.add_argument("--working-week", default="1,2,3,4,5", help="ISO weekdays, 1=Monday")
        parser.add_argument("--languages", required=True, help="e.g. ms,en")
        parser.add_argument("--email", required=True, help="public contact email")
        parser.add_argument("--phone", default="")
        parser.add_argument("--website", default="")

    def handle(self, *args, **options):
        try:
            agency = register_own_agency(
                code=options["code"] or settings.ODR_NODE,
                reference_prefix=options["prefix"],
                short_name=options["short_name"],
                name=options["name"],
                country_code=options["country"],
                country_name=options["country_name"],
                currency=options["currency"],
                time_zone=options["time_zone"],
                working_week=_numbers(options["working_week"]),
                languages=_words(options["languages"]),
                contact_email=options["email"],
                contact_phone=options["phone"],
                website=options["website"],
                inbox_url=f"{settings.ODR_PUBLIC_URL}/relay/inbox/",
            )
        except (DomainError, ValueError) as error:
            raise CommandError(f"{getattr(error, 'code', 'invalid')}: {error}") from error
        self.stdout.write(f"{agency.code} set up; next: manage.py node_keys init")
