"""How a node talks to PostgreSQL: values bound by the server, repeated statements prepared once.

Parsing, analysing and planning were about 40 % of PostgreSQL's CPU in the relay benchmark, and
quoting every value into the SQL text a good part of the client's (docs/performance.md).
"""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from agencies.models import Agency

pytestmark = pytest.mark.django_db


def database_options(**environment) -> dict:
    """The OPTIONS a node started with this environment gives its PostgreSQL connections."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "ODR_"))}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, odr.settings as s; print(json.dumps(s.DATABASES['default']['OPTIONS']))",
        ],
        cwd=settings.BASE_DIR,
        env=kept | {"DATABASE_URL": "postgres://odr@db.example/odr"} | environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_postgresql_binds_values_on_the_server_and_prepares_after_five_runs():
    assert database_options() == {"server_side_binding": True, "prepare_threshold": 5}


def test_prepared_statements_can_be_turned_off_for_a_pooler_that_cannot_keep_them():
    assert database_options(DATABASE_PREPARE_THRESHOLD="0") == {
        "server_side_binding": True,
        "prepare_threshold": None,
    }


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_a_query_run_again_and_again_is_parsed_and_planned_once():
    if connection.vendor != "postgresql":
        # Never in CI: tests/conftest.py refuses to run there on anything but PostgreSQL.
        pytest.skip("SQLite has no server-side prepared statements")
    before = prepared_statements()
    for code in ("ID-BPKN", "KR-KCA", "GB-UKICC", "XX-NONE", "ID-BPKN", "KR-KCA"):
        list(Agency.objects.filter(code=code))
    new = [statement for statement in prepared_statements() if statement not in before]
    # One statement, with the code as a parameter ($1), not six with the code written in.
    assert len(new) == 1
    assert '"agencies_agency"."code" = $1' in new[0]
