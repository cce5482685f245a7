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
        parser.add_argument(
            "--reference-only",
            action="store_true",
            help="countries, categories and code lists only: a new agency's node, whose own "
            "agency comes from init_agency and whose partners come from their cards",
        )

    def handle(self, *args, inbox, reference_only: bool = False, **options):
        urls = {}
        for item in inbox:
            code, sep, url = item.partition("=")
            if not sep:
                raise CommandError(f"--inbox expects CODE=URL, got {item!r}")
            urls[code] = url
        agencies = seed_reference_data(urls, with_agencies=not reference_only)
        if reference_only:
            self.stdout.write(self.style.SUCCESS("Seeded reference data (no agencies)."))
            return
        self.stdout.write(
            self.style.SUCCESS("Seeded " + ", ".join(sorted(agencies)) + " and their MoUs.")
        )
