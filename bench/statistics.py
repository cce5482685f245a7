"""How fast the statistics pages are over a million disputes in PostgreSQL.

Creates its own database (migrated, seeded with the three agencies, dropped afterwards) and an
embedded Redis, inserts ``--disputes`` disputes of BPKN's node with their timeline in SQL (filed
over three years; forwarded, received, accepted, merchant contacted and answered, settled in three
currencies, not settled, referred, closed, withdrawn, out of scope), rebuilds the monthly rollups
once as the nightly task does, then times, in-process through Django's test client, the staff
page (default filters: the last twelve months; and a 36-month period with a partner filter) and
the public page. Prints one JSON line:

    {"disputes": N, "page_ms": …, "public_ms": …, "page_36_months_ms": …, "refresh_s": …, …}

where each *_ms is the median of ``--repeat`` requests after one warm-up.

    .venv/bin/python bench/statistics.py [--disputes 1000000] [--repeat 7]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--keep]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file's name is the standard library's `statistics`: take bench/ off the path, so that
# anything importing the standard module gets it, and put the project root on it.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import argparse
import json
import os
import statistics
import tempfile
import time
from urllib.parse import urlparse, urlunparse

SEED_DISPUTES = """
INSERT INTO disputes_dispute (
    reference, home_agency_id, partner_agency_id, mou_id, consumer_name, consumer_email,
    consumer_phone, consumer_country_id, consumer_language, merchant_name, merchant_website,
    merchant_country_id, merchant_contact, purchase_date, order_number, amount, currency,
    payment_method, platform, category_id, desired_remedy_id, consumer_account, filing_language,
    intake_channel, status, status_changed_at, filed_at, referral_reason, outcome_summary,
    settlement_amount, settlement_currency, settlement_proposal, tracking_link_version)
SELECT
    'BENCH-' || lpad(g::text, 8, '0'),
    CASE WHEN g %% 5 = 0 THEN %(kca)s ELSE %(bpkn)s END,
    CASE WHEN g %% 5 = 0 THEN %(bpkn)s WHEN g %% 20 IN (1, 6) THEN %(uk)s
         WHEN g %% 5 IN (1, 2, 3) THEN %(kca)s END,
    CASE WHEN g %% 5 = 0 OR (g %% 5 IN (1, 2, 3) AND g %% 20 NOT IN (1, 6)) THEN %(mou)s END,
    'Bench consumer', 'consumer@example.invalid', '', 'ID', 'id', 'Bench merchant', '', 'KR', '',
    DATE '2024-01-01', '', 1000 + g %% 9000,
    (ARRAY['KRW', 'GBP', 'IDR', 'IDR', 'IDR', 'IDR', 'IDR'])[g %% 7 + 1],
    'card', '', (%(categories)s::int[])[g %% %(ncategories)s + 1], %(remedy)s, 'Bench', 'id',
    (ARRAY['web', 'email', 'whatsapp', 'api', 'phone'])[(g / 5) %% 5 + 1],
    CASE WHEN g %% 5 = 4 AND g %% 20 NOT IN (1, 6) THEN
        CASE WHEN s < 40 THEN 'under_review' WHEN s < 70 THEN 'withdrawn' ELSE 'out_of_scope' END
    ELSE
        CASE WHEN s < 10 THEN 'forwarded' WHEN s < 20 THEN 'accepted_by_partner'
             WHEN s < 30 THEN 'negotiation' WHEN s < 55 THEN 'settled'
             WHEN s < 65 THEN 'not_settled' WHEN s < 70 THEN 'referred_to_adjudication'
             WHEN s < 80 THEN 'closed' WHEN s < 90 THEN 'withdrawn' ELSE 'mediation' END
    END,
    filed, filed, '', '',
    CASE WHEN s >= 30 AND s < 55 OR s >= 70 AND s < 80 THEN (1000 + g %% 9000) * 0.8 END,
    '', '', 1
FROM (
    SELECT g, ((g::bigint * 7919) %% 100)::int AS s,
           now() - make_interval(days => ((g::bigint * 37) %% 1095)::int, secs => g %% 86400)
               AS filed
    FROM generate_series(1, %(count)s) AS g
) AS rows
"""

# Every dispute's filing, and the status changes its status implies, a few days apart.
SEED_EVENTS = """
INSERT INTO disputes_timelineevent (dispute_id, at, actor, actor_name, kind, from_status,
    to_status, text, language, data, visible_to_consumer)
SELECT d.id, d.filed_at + make_interval(days => e.after::int), e.actor, '', e.kind, '', e.to_status,
       '', '', '{}', true
FROM disputes_dispute d
CROSS JOIN LATERAL (VALUES
    (0, 'consumer', 'filed', '', true),
    (2, 'home_agency', 'status_changed', 'forwarded', d.partner_agency_id IS NOT NULL),
    (4, 'partner_agency', 'status_changed', 'accepted_by_partner',
        d.partner_agency_id IS NOT NULL AND d.status <> 'forwarded'),
    (6, 'partner_agency', 'status_changed', 'merchant_contacted',
        d.partner_agency_id IS NOT NULL
        AND d.status NOT IN ('forwarded', 'accepted_by_partner')),
    (8 + d.id % 10, 'merchant', 'message', '',
        d.partner_agency_id IS NOT NULL AND d.id % 10 < 7
        AND d.status NOT IN ('forwarded', 'accepted_by_partner')),
    (10 + d.id % 60, 'partner_agency', 'status_changed',
        CASE WHEN d.status = 'closed' THEN 'settled' ELSE d.status END,
        d.status IN ('settled', 'not_settled', 'referred_to_adjudication', 'withdrawn',
                     'out_of_scope', 'closed')),
    (75, 'home_agency', 'status_changed', 'closed', d.status = 'closed')
) AS e(after, actor, kind, to_status, happens)
WHERE e.happens AND d.reference LIKE 'BENCH-%'
"""

SEED_PROBLEMS = """
INSERT INTO disputes_dispute_problem_types (dispute_id, problemtype_id)
SELECT id, (%(problems)s::int[])[id %% %(nproblems)s + 1] FROM disputes_dispute
WHERE reference LIKE 'BENCH-%%'
"""


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def admin_sql(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement)


def timed_ms(client, path: str, repeat: int) -> float:
    response = client.get(path)  # warm-up: templates, reference caches, plans
    assert response.status_code == 200, (path, response.status_code)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return round(statistics.median(times), 1)


def seed(count: int) -> float:
    from django.db import connection

    from agencies.models import Agency, Category, MoU
    from disputes.models import ProblemType, Remedy

    agencies = {agency.code: agency.pk for agency in Agency.objects.all()}
    mou = MoU.objects.get(status="active", reference="MOU-BPKN-KCA-2021").pk
    categories = list(Category.objects.values_list("pk", flat=True))
    problems = list(ProblemType.objects.values_list("pk", flat=True))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            SEED_DISPUTES,
            {
                "bpkn": agencies["ID-BPKN"],
                "kca": agencies["KR-KCA"],
                "uk": agencies["GB-UKICC"],
                "mou": mou,
                "categories": categories,
                "ncategories": len(categories),
                "remedy": Remedy.objects.values_list("pk", flat=True).first(),
                "count": count,
            },
        )
        cursor.execute(SEED_EVENTS)
        cursor.execute(SEED_PROBLEMS, {"problems": problems, "nproblems": len(problems)})
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--disputes", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "ODR_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    database = f"bench_statistics_{os.getpid()}"
    data_dir = Path(tempfile.mkdtemp(prefix="odr-bench-"))
    from odr import embedded

    admin_sql(args.database_url, f'CREATE DATABASE "{database}"')
    embedded.start(data_dir)
    os.environ.update(
        {
            "ODR_ENV": "development",
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "ODR_NODE": "ID-BPKN",
            "ODR_DATA_DIR": str(data_dir),
            "DATABASE_URL": with_database(args.database_url, database),
            "CELERY_BROKER_URL": embedded.broker_url(data_dir),
            "ODR_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "odr.settings",
        }
    )
    try:
        import django

        django.setup()
        from django.contrib.auth.models import User
        from django.core.management import call_command
        from django.test import Client

        from agencies.seed import seed_reference_data
        from disputes.models import TimelineEvent
        from figures import services
        from figures.models import MonthlyFigure

        call_command("migrate", verbosity=0)
        seed_reference_data()
        seed_seconds = seed(args.disputes)

        started = time.perf_counter()
        refresh = services.refresh_figures()
        refresh_seconds = time.perf_counter() - started

        staff = User.objects.create_user("bench", is_staff=True)
        client = Client()
        client.force_login(staff)
        result = {
            "disputes": refresh.disputes,
            "page_ms": timed_ms(client, "/casework/statistics/", args.repeat),
            "public_ms": timed_ms(Client(), "/statistics/", args.repeat),
            "page_36_months_ms": timed_ms(
                client,
                "/casework/statistics/?first_month=2024-01&last_month=2026-12&partner=KR-KCA",
                args.repeat,
            ),
            "public_json_ms": timed_ms(Client(), "/statistics/figures.json", args.repeat),
            "refresh_s": round(refresh_seconds, 1),
            "rollup_rows": MonthlyFigure.objects.count(),
            "timeline_events": TimelineEvent.objects.count(),
            "seed_s": round(seed_seconds, 1),
            "repeat": args.repeat,
        }
        print(json.dumps(result), flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        embedded.stop(data_dir)
        if not args.keep:
            admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
