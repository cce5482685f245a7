"""The audit trail proves itself: each entry carries the hash of the one before, the command
finds the first entry that was changed, and PostgreSQL refuses to update or delete entries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from audit.models import AuditEntry
from audit.services import GENESIS, record


def verify() -> tuple[int, str]:
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit_chain", stdout=out, stderr=err)
    except SystemExit as exit:
        return exit.code, err.getvalue()
    return 0, out.getvalue()


def test_each_entry_carries_the_hash_of_the_one_before(db, caseworker):
    first = record(caseworker, "read", "dispute", 1, "BPKN-2026-000001", "case page")
    second = record("KR-KCA", "change", "dispute", 1, "BPKN-2026-000001", "status_changed")
    before = AuditEntry.objects.filter(pk__lt=first.pk).order_by("-pk").first()
    assert first.prev_hash == (before.hash if before else GENESIS)
    assert second.prev_hash == first.hash
    assert len(second.hash) == 64 and second.hash != first.hash
    assert first.actor == f"user:{caseworker.username}" and first.user_id_at_time == caseworker.pk
    assert verify() == (0, f"audit chain intact: {AuditEntry.objects.count()} entries\n")


def test_a_changed_entry_is_named_by_the_command(db, caseworker):
    record(caseworker, "read", "dispute", 1, "BPKN-2026-000001", "case page")
    tampered = record(caseworker, "read", "dispute", 2, "BPKN-2026-000002", "case page")
    record(caseworker, "read", "dispute", 3, "BPKN-2026-000003", "case page")
    # Someone who can get past the database's own protection (SQLite's file; PostgreSQL's
    # superuser, who can switch the trigger off) changes a row: the chain tells.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        AuditEntry.objects.filter(pk=tampered.pk).update(actor="user:someone-else")
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")
    code, message = verify()
    assert code == 1
    assert f"broken at entry {tampered.pk}:" in message


# --- PostgreSQL: the trigger ----------------------------------------------------------------------

TRY_TO_CHANGE = """
import json
from django.db import connection, transaction
from audit.services import record
entries = [
    record("user:siti", "read", "dispute", n, f"BPKN-2026-00000{n}", "case page")
    for n in (1, 2, 3)
]
refusals = []
for statement in (
    "UPDATE audit_auditentry SET actor = 'user:mallory' WHERE id = %s",
    "DELETE FROM audit_auditentry WHERE id = %s",
):
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entries[1].pk])
    except Exception as error:
        refusals.append(str(error).splitlines()[0])
print(json.dumps({"ids": [entry.pk for entry in entries], "refusals": refusals}))
"""


@pytest.fixture(scope="module")
def audit_database(postgres_url):
    """A fresh PostgreSQL database migrated as a node's would be."""
    name = f"odr_audit_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    manage(["migrate", "--no-input", "-v", "0"], url)
    yield url
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def manage(arguments: list[str], database_url: str, **run):
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "ODR_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=settings.BASE_DIR,
        env=kept | {"DATABASE_URL": database_url, "ODR_ENV": "development"},
        capture_output=True,
        text=True,
        **({"check": True} | run),
    )


def test_postgresql_refuses_to_update_or_delete_an_entry_and_a_tampered_row_is_found(
    audit_database,
):
    tried = json.loads(
        manage(["shell", "--no-imports", "-c", TRY_TO_CHANGE], audit_database).stdout
    )
    assert len(tried["refusals"]) == 2
    assert "UPDATE refused" in tried["refusals"][0]
    assert "DELETE refused" in tried["refusals"][1]
    assert manage(["verify_audit_chain"], audit_database).returncode == 0

    # A superuser can switch the trigger off; the chain still shows what was changed.
    middle = tried["ids"][1]
    with psycopg.connect(audit_database, autocommit=True) as database:
        database.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        database.execute(
            "UPDATE audit_auditentry SET detail = 'nothing to see' WHERE id = %s", [middle]
        )
        database.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")
    checked = manage(["verify_audit_chain"], audit_database, check=False)
    assert checked.returncode == 1
    assert f"audit chain broken at entry {middle}:" in checked.stderr
