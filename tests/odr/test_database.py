"""How a node talks to PostgreSQL: values bound by the server, repeated statements prepared once.

Parsing, analysing and planning were about 40 % of PostgreSQL's CPU in the relay benchmark, and
quoting every value into the SQL text a good part of the client's (docs/performance.md).
"""

import json
import os
import subprocess
import sys

from django.conf import settings

OPTIONS = "import json, odr.settings as s; print(json.dumps(s.DATABASES['default']['OPTIONS']))"

# The same query six times with five different values, then what the connection has prepared.
PREPARED = """
import json
from django.db import connection
with connection.cursor() as cursor:
    for name in ("postgres", "template1", "template0", "none", "other", "postgres"):
        cursor.execute("SELECT datname FROM pg_database WHERE datname = %s", [name])
        cursor.fetchall()
    cursor.execute("SELECT statement FROM pg_prepared_statements")
    print(json.dumps([statement for (statement,) in cursor.fetchall()]))
"""


def node_python(code: str, database_url: str, **environment):
    """What ``code`` prints as JSON, run with the settings of a node on ``database_url``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "ODR_"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=settings.BASE_DIR,
        env=kept | {"DATABASE_URL": database_url} | environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_postgresql_binds_values_on_the_server_and_prepares_after_five_runs():
    options = node_python(OPTIONS, "postgres://odr@db.example/odr")
    assert options == {"server_side_binding": True, "prepare_threshold": 5}


def test_prepared_statements_can_be_turned_off_for_a_pooler_that_cannot_keep_them():
    options = node_python(OPTIONS, "postgres://odr@db.example/odr", DATABASE_PREPARE_THRESHOLD="0")
    assert options == {"server_side_binding": True, "prepare_threshold": None}


def test_a_query_run_again_and_again_is_parsed_and_planned_once(postgres_url):
    prepared = node_python(PREPARED, postgres_url)
    # One statement, with the name as a parameter ($1), not six with the name written in.
    assert len(prepared) == 1
    assert "datname = $1" in prepared[0]
