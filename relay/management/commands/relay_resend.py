"""manage.py relay_resend AGENCY --since TIME — after a partner restored a backup, send it again
what it acknowledged since then (same ids and bytes: nothing is applied twice)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from agencies.models import Agency
from relay.outbox import resend_acknowledged


class Command(BaseCommand):
    help = "Queue again the packets a partner acknowledged since a time (its restored backup's)."

    def add_arguments(self, parser):
        parser.add_argument("agency", help="the partner's code, e.g. KR-KCA")
        parser.add_argument(
            "--since", required=True, help="ISO time with zone, e.g. 2026-12-06T10:00:00+00:00"
        )

    def handle(self, *args, agency: str, since: str, **options):
        moment = parse_datetime(since)
        if moment is None or moment.tzinfo is None:
            raise CommandError("bad_time: give --since as an ISO time with its zone")
        partner = Agency.objects.filter(code=agency).first()
        if partner is None:
            raise CommandError(f"not_found: no agency {agency}")
        resent, expired = resend_acknowledged(partner, moment)
        self.stdout.write(f"{resent} packets queued again for {partner.code}")
        if expired:
            self.stdout.write(
                f"{len(expired)} expired and not sent (fix by hand): " + ", ".join(expired)
            )
