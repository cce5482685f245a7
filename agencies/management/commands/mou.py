"""manage.py mou create|activate|suspend|resume|terminate|show REFERENCE ...: an MoU's life."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from agencies import services
from agencies.models import Agency, Category, MoU
from agencies.selectors import onboarding_state
from odr.errors import DomainError


def _words(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class Command(BaseCommand):
    help = "Change an MoU's status, with a reason recorded in its history and told to the partner."

    def add_arguments(self, parser):
        parser.add_argument(
            "action", choices=["create", "activate", "suspend", "resume", "terminate", "show"]
        )
        parser.add_argument("reference")
        parser.add_argument("--reason", default="")
        parser.add_argument("--by", help="username of the administrator")
        parser.add_argument(
            "--grace-days",
            type=int,
            default=0,
            help="terminate: days that packets for open cases are still accepted",
        )

        create = parser.add_argument_group("create (a draft between this agency and a partner)")
        create.add_argument("--partner", help="the partner agency's code")
        create.add_argument("--title", default="")
        create.add_argument("--signed-on", type=dt.date.fromisoformat)
        create.add_argument("--effective-from", type=dt.date.fromisoformat)
        create.add_argument("--effective-until", type=dt.date.fromisoformat)
        create.add_argument("--categories", default="", help="codes, comma separated (all: none)")
        create.add_argument("--max-claim", type=Decimal, help="maximum claim value")
        create.add_argument("--currency", default="", help="currency of the maximum")
        create.add_argument(
            "--stages",
            default="merchant_contact,negotiation,mediation",
            help="stages the partner handles",
        )
        create.add_argument("--languages", default="en", help="languages of exchange")
        create.add_argument("--acknowledge-days", type=int, default=5)
        create.add_argument("--merchant-days", type=int, default=10)
        create.add_argument("--resolution-days", type=int, default=60)
        create.add_argument("--document", help="the signed MoU (PDF)")

    def _create(self, reference: str, options: dict) -> MoU:
        here = Agency.objects.get(code=settings.ODR_NODE)
        partner = Agency.objects.filter(code=options["partner"] or "").first()
        if partner is None:
            raise CommandError(f"unknown_agency: {options['partner']}")
        fields = {
            "signed_on": options["signed_on"],
            "effective_from": options["effective_from"],
            "effective_until": options["effective_until"],
            "max_claim_amount": options["max_claim"],
            "max_claim_currency": options["currency"],
            "partner_stages": _words(options["stages"]),
            "languages": _words(options["languages"]),
            "acknowledge_days": options["acknowledge_days"],
            "merchant_contact_days": options["merchant_days"],
            "resolution_days": options["resolution_days"],
        }
        codes = _words(options["categories"])
        if codes:
            fields["categories"] = list(Category.objects.filter(code__in=codes))
            if len(fields["categories"]) != len(codes):
                raise CommandError("unknown_category: " + ", ".join(codes))
        mou = services.create_mou(
            first=here,
            second=partner,
            reference=reference,
            title=options["title"] or reference,
            **fields,
        )
        if options["document"]:
            with open(options["document"], "rb") as handle:
                mou.document.save(Path(options["document"]).name, File(handle))
        return mou

    def handle(self, *args, action: str, reference: str, reason: str, by, grace_days, **options):
        if action == "create":
            try:
                mou = self._create(reference, options)
            except DomainError as error:
                raise CommandError(f"{error.code}: {error.message}") from error
            self.stdout.write(f"{mou.reference} created as a draft: {onboarding_state(mou)}")
            return
        try:
            mou = MoU.objects.get(reference=reference)
        except MoU.DoesNotExist as error:
            raise CommandError(f"unknown_mou: {reference}") from error
        user = None
        if by:
            user = get_user_model().objects.filter(username=by).first()
            if user is None:
                raise CommandError(f"no_such_user: {by}")
        try:
            if action == "activate":
                mou = services.activate_mou(mou, by=user, reason=reason)
            elif action == "suspend":
                mou = services.suspend_mou(mou, by=user, reason=reason)
            elif action == "resume":
                mou = services.resume_mou(mou, by=user, reason=reason)
            elif action == "terminate":
                mou = services.terminate_mou(
                    mou, by=user, reason=reason, grace=dt.timedelta(days=grace_days)
                )
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from error
        partner = f", at the partner: {mou.partner_state}" if mou.partner_state else ""
        self.stdout.write(f"{mou.reference} is {onboarding_state(mou)}{partner}")
