"""Indexes for the queue, chosen from EXPLAIN (ANALYZE) of its queries on a million disputes
(bench/queue.py, docs/performance.md). PostgreSQL only; SQLite (demo, local tests) has none.

* The default order: the next deadline, written exactly as ``casework.selectors.next_deadline``
  writes it (the stand-in date is in the SQL, not a parameter, so a prepared statement's generic
  plan still matches), then filed_at and id for a total order. A page is a walk of this index
  from the keyset cursor, whatever the number of disputes.
* Newest and oldest filed: (filed_at, id), walked either way.
* Search: one trigram index on the four searched columns joined, exactly as
  ``casework.queue_query.SearchMatch`` writes them: one LIKE per row when walking the deadline
  index, one bitmap index scan for a narrow search (four indexes ORed cost more of both).
"""

from django.db import migrations

NEXT_DEADLINE = ", ".join(
    f"COALESCE({column}, DATE '9999-12-31')"
    for column in (
        "review_due_on",
        "acknowledge_due_on",
        "merchant_contact_due_on",
        "resolution_due_on",
    )
)
SEARCHED = ("reference", "merchant_name", "merchant_website", "consumer_name")
SEARCH_TEXT = " || ' | ' || ".join(f"{column}::text" for column in SEARCHED)

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS casework_queue_deadline ON disputes_dispute "
    f"((LEAST({NEXT_DEADLINE})), filed_at, id)",
    "CREATE INDEX IF NOT EXISTS casework_queue_filed ON disputes_dispute (filed_at, id)",
    "CREATE INDEX IF NOT EXISTS casework_queue_search ON disputes_dispute USING gin "
    f"((UPPER({SEARCH_TEXT})) gin_trgm_ops)",
]
DROP = [
    "DROP INDEX IF EXISTS casework_queue_deadline",
    "DROP INDEX IF EXISTS casework_queue_filed",
    "DROP INDEX IF EXISTS casework_queue_search",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("casework", "0002_roles"), ("disputes", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
