"""``manage.py api_client create NAME --scope disputes:create ...``, list, rotate, deactivate."""

from django.core.management.base import BaseCommand, CommandError

from api import services
from api.models import ApiClient, Scope
from odr.errors import DomainError


class Command(BaseCommand):
    help = "Create, list, rotate the key of, or deactivate API clients. Keys are shown once."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Register a client and print its key once.")
        create.add_argument("name")
        create.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=Scope.values,
            required=True,
            help="Repeat for each scope.",
        )
        sub.add_parser("list", help="Clients, their key prefixes and scopes.")
        rotate = sub.add_parser("rotate", help="Issue a new key; the old one stops working.")
        rotate.add_argument("name")
        deactivate = sub.add_parser("deactivate", help="Refuse the client's key from now on.")
        deactivate.add_argument("name")

    def handle(self, *args, action, **options):
        if action == "create":
            try:
                client, key = services.create_client(options["name"], options["scopes"])
            except DomainError as error:
                raise CommandError(error.message) from error
            self.stdout.write(key)
            self.stderr.write(
                f"Created {client.name} ({', '.join(client.scopes)}). "
                "The key above is shown only this once."
            )
            return
        if action == "list":
            for client in ApiClient.objects.all():
                state = "active" if client.is_active else "inactive"
                self.stdout.write(
                    f"{client.key_prefix}  {client.name}  {','.join(client.scopes)}  {state}"
                )
            return
        try:
            client = ApiClient.objects.get(name=options["name"])
        except ApiClient.DoesNotExist as error:
            raise CommandError(f"No API client named {options['name']!r}.") from error
        if action == "rotate":
            self.stdout.write(services.rotate_key(client))
            self.stderr.write("The old key no longer works. The key above is shown only once.")
        elif action == "deactivate":
            services.revoke_client(client)
            self.stderr.write(f"{client.name} deactivated.")
