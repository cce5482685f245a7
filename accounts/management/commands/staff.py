"""Staff accounts from the command line: invite someone to a role, deactivate an account."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from agencies.roles import ROLES
from odr.errors import DomainError

from ... import services


class Command(BaseCommand):
    help = "Invite staff by email (signed link that expires) or deactivate an account."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        invite = sub.add_parser("invite", help="Email an invitation to create a staff account.")
        invite.add_argument("email")
        invite.add_argument("--role", choices=ROLES, required=True)
        invite.add_argument("--by", required=True, help="username of the inviting admin")
        invite.add_argument("--language", default="en", choices=["en", "id", "ko"])
        deactivate = sub.add_parser("deactivate", help="Stop an account and end its sessions.")
        deactivate.add_argument("username")
        deactivate.add_argument("--by", required=True, help="username of the admin")

    def _user(self, username: str):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no_such_user: {username}") from None

    def handle(self, *args, action: str, **options):
        try:
            if action == "invite":
                invitation = services.invite_staff(
                    email=options["email"],
                    role=options["role"],
                    invited_by=self._user(options["by"]),
                    language=options["language"],
                )
                self.stdout.write(
                    f"invited {invitation.email} as {invitation.role}, "
                    f"link valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC"
                )
            else:
                ended = services.deactivate_staff(
                    self._user(options["username"]), by=self._user(options["by"])
                )
                self.stdout.write(f"deactivated {options['username']}, {ended} session(s) ended")
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
