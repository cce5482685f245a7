"""manage.py ping_partner CODE [--mou REF] [--wait SECONDS]: the connectivity check."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from agencies.models import Agency, MoU
from agencies.selectors import onboarding_state
from odr.errors import DomainError
from relay.models import OutboundPacket
from relay.packets import decode_receipt_claims
from relay.partners import send_ping

FINAL = (OutboundPacket.State.ACKNOWLEDGED, OutboundPacket.State.REFUSED, OutboundPacket.State.DEAD)


class Command(BaseCommand):
    help = (
        "Send a signed partner.ping under an MoU with the agency (any state: the check comes "
        "before activation) and, with --wait, show the signed pong and the round-trip time."
    )

    def add_arguments(self, parser):
        parser.add_argument("agency_code")
        parser.add_argument("--mou", help="the MoU's reference (default: the one in force)")
        parser.add_argument(
            "--wait", type=float, default=0, help="seconds to wait for the partner's answer"
        )

    def handle(self, *args, agency_code: str, mou: str | None, wait: float, **options):
        try:
            packet = send_ping(agency_code, mou_reference=mou)
        except Agency.DoesNotExist as error:
            raise CommandError(f"unknown_agency: {agency_code}") from error
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from error
        self.stdout.write(f"ping {packet.pid} queued to {agency_code} under {packet.mou_reference}")
        if not wait:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            packet.refresh_from_db()
            if packet.state in FINAL:
                break
            time.sleep(0.2)  # polling the database for the worker's answer, with a deadline
        else:
            raise CommandError(f"no_answer: no answer within {wait:g} s ({packet.state})")
        if packet.state != OutboundPacket.State.ACKNOWLEDGED:
            raise CommandError(f"ping_failed: {packet.state}: {packet.last_error}")
        claims = decode_receipt_claims(packet.receipt)
        agreement = MoU.objects.get(reference=packet.mou_reference)
        self.stdout.write(
            f"pong from {claims['iss']} (signed receipt {claims['code']}): "
            f"{claims.get('detail', '')}\n"
            f"round trip {agreement.last_ping_rtt_ms} ms; "
            f"{agreement.reference} is {onboarding_state(agreement)} here"
        )
