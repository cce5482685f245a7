"""The caseworkers' queue with a million disputes: p95 of a queue page and of a search, and the
SQL queries per page, through the real view (URL conf, middleware, view, template) as a
signed-in caseworker of BPKN's node.

Seeds its own PostgreSQL database in a few SQL statements (``generate_series``, no ORM row by
row): disputes spread over the three agencies as home and partner, every status, three years of
filings, 5,000 merchants of which a few come back again and again, consumers' names, deadlines
on the open cases (some overdue, some due soon), and 60 % of the open cases assigned to one of 20
caseworkers. The database is kept for the next run unless ``--drop``; ``--explain`` prints the
plans of the page's queries.

Prints one JSON line: {"disputes": N, "queue_p95_ms": …, "search_p95_ms": …,
"queries_per_page": …, ...}.

    .venv/bin/python bench/queue.py [--disputes 1000000] [--runs 60]
        [--database-url postgres://postgres@127.0.0.1:5432/odr_bench_queue] [--drop] [--explain]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and this file (queue.py) would
# hide the standard library's queue module from psycopg.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import argparse
import json
import os
import statistics
import subprocess
import time
from urllib.parse import urlparse, urlunparse

# Weighted: most disputes of a node's three years are finished; a fifth are open.
STATUSES = (
    ["submitted"] * 3
    + ["under_review"] * 3
    + ["clarification_requested"] * 1
    + ["forwarded"] * 2
    + ["accepted_by_partner"] * 2
    + ["merchant_contacted"] * 3
    + ["negotiation"] * 3
    + ["mediation"] * 2
    + ["out_of_scope"] * 4
    + ["settled"] * 30
    + ["not_settled"] * 12
    + ["referred_to_adjudication"] * 3
    + ["withdrawn"] * 5
    + ["closed"] * 27
)
OPEN = {
    "submitted",
    "under_review",
    "clarification_requested",
    "forwarded",
    "accepted_by_partner",
    "merchant_contacted",
    "negotiation",
    "mediation",
}
FIRST_NAMES = [
    "Dewi",
    "Budi",
    "Siti",
    "Agus",
    "Rina",
    "Joko",
    "Putri",
    "Andi",
    "Wulan",
    "Hendra",
    "Min-jun",
    "Seo-yeon",
    "Ji-ho",
    "Ha-eun",
    "Do-yun",
    "Oliver",
    "Amelia",
    "Harry",
    "Isla",
    "Jack",
]
LAST_NAMES = [
    "Lestari",
    "Santoso",
    "Rahma",
    "Wijaya",
    "Kusuma",
    "Pratama",
    "Hidayat",
    "Saputra",
    "Nugroho",
    "Halim",
    "Kim",
    "Lee",
    "Park",
    "Choi",
    "Jung",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Wilson",
]
CITIES = [
    "Seoul",
    "Busan",
    "Incheon",
    "Daegu",
    "Jakarta",
    "Bandung",
    "Surabaya",
    "London",
    "Leeds",
    "Bristol",
]
GOODS = [
    "Gadget",
    "Beauty",
    "Fashion",
    "Books",
    "Sports",
    "Toys",
    "Home",
    "Kitchen",
    "Audio",
    "Travel",
]
KINDS = ["Store", "Shop", "Mall", "Market", "Outlet"]


def sql_array(values) -> str:
    return "ARRAY[" + ",".join("'" + value.replace("'", "''") + "'" for value in values) + "]"


SEED = """
INSERT INTO disputes_dispute (
    reference, consumer_name, consumer_email, consumer_phone, consumer_language, merchant_name,
    merchant_website, merchant_contact, purchase_date, order_number, amount, currency,
    payment_method, platform, consumer_account, filing_language, intake_channel, status,
    status_changed_at, filed_at, review_due_on, acknowledge_due_on, merchant_contact_due_on,
    resolution_due_on, referral_reason, outcome_summary, settlement_currency,
    settlement_proposal, tracking_link_version, category_id, consumer_country_id,
    home_agency_id, merchant_country_id, mou_id, partner_agency_id, desired_remedy_id,
    consumer_receipt, merchant_link_version, settlement_performance_note, settlement_remedy,
    merchant_key)
SELECT
    side.prefix || '-' || extract(year FROM s.filed)::int || '-'
        || lpad((s.n % 1000000)::text, 6, '0'),
    ({first})[1 + s.n % 20] || ' ' || ({last})[1 + (s.n / 20) % 20],
    'consumer' || s.n || '@example.org', '', side.language,
    ({cities})[1 + s.m % 10] || ' ' || ({goods})[1 + (s.m / 10) % 10] || ' '
        || ({kinds})[1 + (s.m / 100) % 5] || ' ' || (s.m / 500),
    'https://' || lower(({cities})[1 + s.m % 10] || ({goods})[1 + (s.m / 10) % 10])
        || (s.m / 100) || '.example.' || side.merchant_tld,
    '', s.filed::date - 10, 'ORD-' || s.n, round((10 + s.r_amount * 490)::numeric, 2), 'USD',
    'card', '', 'The goods never arrived.', side.language, 'web', s.status,
    s.filed, s.filed,
    CASE WHEN s.status IN ('submitted', 'under_review') THEN s.due END,
    CASE WHEN s.status = 'forwarded' THEN s.due END,
    CASE WHEN s.status = 'accepted_by_partner' THEN s.due END,
    CASE WHEN s.status IN ('merchant_contacted', 'negotiation', 'mediation') THEN s.due END,
    '', '', '', '', 1,
    (SELECT array_agg(id ORDER BY id) FROM agencies_category)[1 + s.n % {categories}],
    side.consumer_country, side.home, side.merchant_country, side.mou, side.partner,
    (SELECT array_agg(id ORDER BY id) FROM disputes_remedy)[1 + s.n % {remedies}],
    '', 0, '', '',
    'web:' || lower(({cities})[1 + s.m % 10] || ({goods})[1 + (s.m / 10) % 10])
        || (s.m / 100) || '.example.' || side.merchant_tld
FROM (
    SELECT n,
        ({statuses})[1 + floor(random() * {status_count})::int] AS status,
        floor(power(random(), 3) * 5000)::int AS m,
        random() AS r_amount,
        floor(random() * 20)::int AS r_side,
        random() AS r_time,
        current_date + (floor(random() * 50)::int - 12) AS due
    FROM generate_series(1, {count}) AS n
) AS raw
CROSS JOIN LATERAL (
    SELECT raw.*, CASE WHEN raw.status = ANY({open})
        THEN now() - raw.r_time * interval '120 days'
        ELSE now() - interval '120 days' - raw.r_time * interval '975 days' END AS filed
) AS s
JOIN bench_side AS side ON side.slot = s.r_side
"""

SIDES = """
CREATE TEMP TABLE bench_side AS
SELECT slot, home.reference_prefix AS prefix, home.id AS home, partner.id AS partner,
       mou.id AS mou, home.country_id AS consumer_country,
       COALESCE(partner.country_id, 'KR') AS merchant_country,
       CASE home.country_id WHEN 'ID' THEN 'id' WHEN 'KR' THEN 'ko' ELSE 'en' END AS language,
       lower(COALESCE(partner.country_id, 'KR')) AS merchant_tld
FROM (VALUES
    -- BPKN home, KCA partner under the MoU (most of BPKN's cross-border work)
    (0,'ID-BPKN','KR-KCA',true),(1,'ID-BPKN','KR-KCA',true),(2,'ID-BPKN','KR-KCA',true),
    (3,'ID-BPKN','KR-KCA',true),(4,'ID-BPKN','KR-KCA',true),(5,'ID-BPKN','KR-KCA',true),
    (6,'ID-BPKN','KR-KCA',true),(7,'ID-BPKN','KR-KCA',true),(8,'ID-BPKN','KR-KCA',true),
    (9,'ID-BPKN','KR-KCA',true),
    -- BPKN home, not forwarded (yet, or out of scope)
    (10,'ID-BPKN',NULL,false),(11,'ID-BPKN',NULL,false),(12,'ID-BPKN',NULL,false),
    -- BPKN home, UK ICC partner (draft MoU: no MoU on the case)
    (13,'ID-BPKN','GB-UKICC',false),
    -- KCA's consumers' disputes against Indonesian merchants, BPKN the partner
    (14,'KR-KCA','ID-BPKN',true),(15,'KR-KCA','ID-BPKN',true),(16,'KR-KCA','ID-BPKN',true),
    (17,'KR-KCA','ID-BPKN',true),(18,'KR-KCA','ID-BPKN',true),
    -- UK ICC's consumers against Indonesian merchants
    (19,'GB-UKICC','ID-BPKN',false)
) AS spec(slot, home_code, partner_code, under_mou)
JOIN agencies_agency AS home ON home.code = spec.home_code
LEFT JOIN agencies_agency AS partner ON partner.code = spec.partner_code
LEFT JOIN agencies_mou AS mou ON spec.under_mou AND mou.reference = 'MOU-BPKN-KCA-2021'
"""

BUSIEST_MERCHANT = """
SELECT merchant_key FROM disputes_dispute
WHERE home_agency_id = (SELECT id FROM agencies_agency WHERE code = 'ID-BPKN')
GROUP BY merchant_key ORDER BY count(*) DESC LIMIT 1
"""

ASSIGN = """
INSERT INTO casework_assignment (dispute_id, assignee_id, assigned_by_id, assigned_at)
SELECT d.id, (SELECT array_agg(id ORDER BY id) FROM auth_user
              WHERE username LIKE 'bench-caseworker-%%')[1 + d.id %% 20], NULL, d.filed_at
FROM disputes_dispute AS d
WHERE d.status = ANY(%s) AND random() < 0.6
  AND (d.home_agency_id = %s OR d.partner_agency_id = %s)
"""


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def prepare(url: str, count: int) -> None:
    """Create, migrate and seed the database unless it already holds ``count`` disputes."""
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    env = os.environ | {"DATABASE_URL": url, "ODR_ENV": "development", "DJANGO_DEBUG": "false"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
    with psycopg.connect(url, autocommit=True) as database:
        if database.execute("SELECT count(*) FROM disputes_dispute").fetchone()[0] == count:
            return
    subprocess.run(
        [*manage, "seed_agencies"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    started = time.perf_counter()
    with psycopg.connect(url) as database:
        database.execute("TRUNCATE disputes_dispute CASCADE")
        database.execute(SIDES)
        categories = database.execute("SELECT count(*) FROM agencies_category").fetchone()[0]
        remedies = database.execute("SELECT count(*) FROM disputes_remedy").fetchone()[0]
        database.execute(
            SEED.format(
                first=sql_array(FIRST_NAMES),
                last=sql_array(LAST_NAMES),
                cities=sql_array(CITIES),
                goods=sql_array(GOODS),
                kinds=sql_array(KINDS),
                statuses=sql_array(STATUSES),
                status_count=len(STATUSES),
                open=sql_array(sorted(OPEN)),
                categories=categories,
                remedies=remedies,
                count=count,
            )
        )
        database.commit()
    print(f"seeded {count} disputes in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    # As autovacuum leaves a table that has lived for three years: statistics, visibility map
    # (index-only scans count from the index alone only on pages marked all-visible).
    with psycopg.connect(url, autocommit=True) as database:
        database.execute("VACUUM ANALYZE disputes_dispute")


def setup_people(count: int):
    from django.contrib.auth.models import Group, User

    from agencies.models import Agency
    from casework.roles import CASEWORKERS, SUPERVISORS, ensure_roles

    ensure_roles()
    people = []
    for number in range(20):
        user, _ = User.objects.get_or_create(
            username=f"bench-caseworker-{number:02d}",
            defaults={"first_name": FIRST_NAMES[number], "last_name": LAST_NAMES[number]},
        )
        user.groups.add(Group.objects.get(name=CASEWORKERS))
        people.append(user)
    supervisor, _ = User.objects.get_or_create(username="bench-supervisor")
    supervisor.groups.add(Group.objects.get(name=SUPERVISORS))
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM casework_assignment")
        if cursor.fetchone()[0] == 0:
            bpkn = Agency.objects.get(code="ID-BPKN").pk
            cursor.execute(ASSIGN, [sorted(OPEN), bpkn, bpkn])
            cursor.execute("ANALYZE")
    return people[0], supervisor


def past_second_factor(client, user) -> None:
    """A supervisor's session as after the two-factor step (accounts.middleware asks for it)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="bench", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def p95(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=20)[18] * 1000, 1)


def timed_get(client, url: str) -> tuple[float, object]:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, response


def next_link(response) -> str | None:
    import html
    import re

    match = re.search(r'href="([^"]*after=[^"]*)" rel="next"', response.content.decode())
    return "/casework/" + html.unescape(match.group(1)) if match else None


def measure(runs: int, explain: bool) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    caseworker, supervisor = setup_people(runs)
    client = Client()
    client.force_login(caseworker)
    searches = ["busan", "Dewi Lestari", "seoulgadget", "BPKN-2026-0012", "leeds kitchen"]
    # Warm up: templates, URL conf, the per-process reference cache.
    timed_get(client, "/casework/")
    queue_times, search_times, queries = [], [], []
    for run in range(runs):
        url = "/casework/"
        for _page in range(3):  # the first page and two more through the keyset cursor
            with CaptureQueriesContext(connection) as captured:
                elapsed, response = timed_get(client, url)
            queue_times.append(elapsed)
            queries.append(len(captured))
            url = next_link(response) or "/casework/"
        with CaptureQueriesContext(connection) as captured:
            elapsed, response = timed_get(client, f"/casework/?q={searches[run % len(searches)]}")
        search_times.append(elapsed)
        queries.append(len(captured))
    supervisor_client = Client()
    supervisor_client.force_login(supervisor)
    past_second_factor(supervisor_client, supervisor)
    supervisor_times = [
        timed_get(supervisor_client, "/casework/?due=2")[0] for _ in range(max(10, runs // 3))
    ]
    # The merchant watch: the repeat merchants of the last year, and the busiest one's page.
    from django.urls import reverse

    with connection.cursor() as cursor:
        cursor.execute(BUSIEST_MERCHANT)
        busiest = cursor.fetchone()[0]
    merchant_url = reverse("enforcement:merchant", args=[busiest])
    merchants_times, merchant_times = [], []
    for _ in range(max(10, runs // 3)):
        merchants_times.append(timed_get(client, "/casework/merchants/")[0])
        with CaptureQueriesContext(connection) as merchant_queries:
            merchant_times.append(timed_get(client, merchant_url)[0])
    if explain:
        for sql in captured.captured_queries + merchant_queries.captured_queries:
            if "disputes_dispute" in sql["sql"]:
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql["sql"])
                    print("\n".join(row[0] for row in cursor.fetchall()), file=sys.stderr)
    from disputes.models import Dispute

    return {
        "disputes": Dispute.objects.count(),
        "queue_p95_ms": p95(queue_times),
        "search_p95_ms": p95(search_times),
        "queries_per_page": statistics.median(queries),
        # Once every 5 s a page also reloads the reference rows it keeps (agencies, categories).
        "queries_per_page_max": max(queries),
        "queue_p50_ms": round(statistics.median(queue_times) * 1000, 1),
        "search_p50_ms": round(statistics.median(search_times) * 1000, 1),
        "supervisor_due_soon_p95_ms": p95(supervisor_times),
        "merchants_page_p95_ms": p95(merchants_times),
        "merchant_page_p95_ms": p95(merchant_times),
        "merchant_page_queries": len(merchant_queries),
        "pages": len(queue_times),
        "searches": len(search_times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disputes", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/odr_bench_queue"
    )
    parser.add_argument("--drop", action="store_true", help="drop the database afterwards")
    parser.add_argument("--explain", action="store_true")
    options = parser.parse_args()
    prepare(options.database_url, options.disputes)
    os.environ |= {
        "DATABASE_URL": options.database_url,
        "ODR_ENV": "development",
        "DJANGO_DEBUG": "false",
        "ODR_NODE": "ID-BPKN",
        "DJANGO_SETTINGS_MODULE": "odr.settings",
    }
    import django

    django.setup()
    result = measure(options.runs, options.explain)
    from django.db import connections

    connections.close_all()
    if options.drop:
        import psycopg

        name = urlparse(options.database_url).path.lstrip("/")
        with psycopg.connect(with_database(options.database_url, "postgres"), autocommit=True) as a:
            a.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    print(json.dumps(result))


if __name__ == "__main__":
    main()
