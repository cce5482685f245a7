from django.core.management.base import BaseCommand, CommandError

from agencies.seed import seed_reference_data


class Command(BaseCommand):
    help = "Seed countries, holidays, reference data, BPKN, KCA and UK ICC and their MoUs."

    def add_arguments(self, parser):
        parser.add_argument(
            "--inbox",
            action="append",
            default=[],
            metavar="CODE=URL",
            help="Relay inbox URL of an agency, e.g. KR-KCA=http://127.0.0.1:8102/relay/inbox/",
        )

    def handle(self, *args, inbox, **options):
        urls = {}
        for item in inbox:
            code, sep, url = item.partition("=")
            if not sep:
                raise CommandError(f"--inbox expects CODE=URL, got {item!r}")
            urls[code] = url
        agencies = seed_reference_data(urls)
        self.stdout.write(
            self.style.SUCCESS("Seeded " + ", ".join(sorted(agencies)) + " and their MoUs.")
        )
