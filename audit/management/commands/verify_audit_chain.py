"""Exit 0 if the audit trail's hash chain is intact, else name the first broken entry, exit 1."""

from django.core.management.base import BaseCommand

from audit.models import AuditEntry
from audit.selectors import first_break


class Command(BaseCommand):
    help = "Check the hash chain of the audit trail from its first entry to its last."

    def handle(self, *args, **options):
        broken = first_break()
        if broken is not None:
            self.stderr.write(f"audit chain broken at entry {broken.entry_id}: {broken.reason}")
            raise SystemExit(1)
        self.stdout.write(f"audit chain intact: {AuditEntry.objects.count()} entries")
