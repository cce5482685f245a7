"""manage.py pin_partner_keys AGENCY_CODE (--file PATH | --url URL): pin a partner's keys."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from agencies.models import Agency
from odr.errors import DomainError
from relay import partners


class Command(BaseCommand):
    help = "Pin a partner agency's public JWK set, from a file or its /.well-known/jwks.json URL."

    def add_arguments(self, parser):
        parser.add_argument("agency_code")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--file", help="a JWK set JSON file received at onboarding")
        source.add_argument("--url", help="the partner's /.well-known/jwks.json")

    def handle(self, *args, agency_code: str, file: str | None, url: str | None, **options):
        try:
            if file:
                jwks = json.loads(Path(file).read_text())
            else:
                if url.startswith("http://") and not settings.ODR_RELAY_ALLOW_HTTP:
                    raise CommandError("plain http is not allowed (ODR_RELAY_ALLOW_HTTP is off)")
                response = httpx.get(url, timeout=settings.ODR_RELAY_TIMEOUT_SECONDS)
                response.raise_for_status()
                jwks = response.json()
            pinned = partners.pin_partner_keys(agency_code, jwks)
        except Agency.DoesNotExist as error:
            raise CommandError(f"unknown agency {agency_code}") from error
        except (OSError, ValueError, httpx.HTTPError, DomainError) as error:
            raise CommandError(str(error)) from error
        for key in pinned:
            self.stderr.write(f"pinned {key.agency.code} {key.use} {key.kid}")
