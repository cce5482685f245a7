"""manage.py doctor [--json] — check this node's configuration and say what to fix."""

from __future__ import annotations

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from ops.doctor import findings

MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


class Command(BaseCommand):
    help = (
        "Check this node's services, keys, partner keys, MoUs, email and HTTPS settings; exit 1 "
        "if anything fails."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="one JSON object per line"
        )

    def handle(self, *args, as_json: bool = False, **options):
        found = findings()
        for finding in found:
            if as_json:
                self.stdout.write(json.dumps(asdict(finding), ensure_ascii=False))
                continue
            line = f"{MARKS[finding.level]} {finding.topic:<10} {finding.message}"
            if finding.fix:
                line += f"\n     {'':<10} fix: {finding.fix}"
            self.stdout.write(line)
        failed = sum(f.level == "fail" for f in found)
        warned = sum(f.level == "warn" for f in found)
        if not as_json:
            self.stdout.write(f"{failed} to fix, {warned} to look at")
        if failed:
            raise CommandError(f"{failed} problems to fix", returncode=1)
