"""manage.py relay_log [--json] [--since-id N] — outbound and inbound packets of this node."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from relay.selectors import relay_log


class Command(BaseCommand):
    help = "Print the packets this node sent and received, with their state and receipts."

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="one JSON object per line"
        )
        parser.add_argument(
            "--since-id", type=int, default=0, help="only rows with a larger id (per direction)"
        )

    def handle(self, *args, as_json: bool = False, since_id: int = 0, **options):
        for row in relay_log(since_id=since_id):
            if as_json:
                self.stdout.write(json.dumps(row, ensure_ascii=False))
                continue
            arrow = "→" if row["direction"] == "out" else "←"
            self.stdout.write(
                f"{row['id']:>6} {arrow} {row['agency']:<10} {row['pid'] or '-':<26} "
                f"{row['type'] or '-':<17} {row['dispute'] or '-':<17} seq={row['seq'] or '-':<3} "
                f"{row['state']:<12} attempts={row['attempts']} "
                f"receipt={row['receipt_status'] or '-'}/{row['receipt_code'] or '-'} "
                f"at={row['at']}"
            )
