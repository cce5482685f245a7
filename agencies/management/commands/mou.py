"""manage.py mou activate|suspend|resume|terminate REFERENCE --reason TEXT --by USER."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from agencies import services
from agencies.models import MoU
from agencies.selectors import onboarding_state
from odr.errors import DomainError


class Command(BaseCommand):
    help = "Change an MoU's status, with a reason recorded in its history and told to the partner."

    def add_arguments(self, parser):
        parser.add_argument(
            "action", choices=["activate", "suspend", "resume", "terminate", "show"]
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

    def handle(self, *args, action: str, reference: str, reason: str, by, grace_days, **options):
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
