"""What each hand-written fast path saves against the plain ORM code it replaces.

docs/architecture.md ("Performance rules") keeps a fast path only behind one named helper whose
docstring says what removing it would cost; this measures that cost. Each pair runs in one
process against its own PostgreSQL database (created, migrated, seeded, dropped), alternating
the fast path (A) and its ORM equivalent (B) round by round, so a machine that changes speed
affects both alike. Prints one JSON line per pair: microseconds per call (median of the rounds)
of A and B, and B/A.

    .venv/bin/python bench/fast_paths.py [--rounds 15] [--calls 300]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

The relay and intake benchmarks (bench/relay.py, bench/intake.py) say what a whole packet or
filing costs; a saving here matters in proportion (about 15 ms of CPU per packet, 12 ms per
filing on the machines in docs/performance.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Not this folder: bench/statistics.py and bench/queue.py (the statistics and queue benchmarks)
# would shadow the standard library's modules of those names, which this script and its
# libraries use.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(function, calls: int) -> float:
    """Microseconds per call of ``function`` over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls * 1e6


def pair(name: str, fast, plain, *, rounds: int, calls: int) -> dict:
    """Rounds of ``calls`` calls each, A then B, each round in one transaction (as in a request
    or a batch, where a commit is shared), rolled back."""
    from django.db import transaction

    def round_of(function) -> float:
        with transaction.atomic():
            result = timed(function, calls)
            transaction.set_rollback(True)
        return result

    round_of(fast), round_of(plain)  # warm both
    a, b = [], []
    for _ in range(rounds):
        a.append(round_of(fast))
        b.append(round_of(plain))
    fast_us, plain_us = statistics.median(a), statistics.median(b)
    return {
        "fast_path": name,
        "fast_us": round(fast_us, 1),
        "orm_us": round(plain_us, 1),
        "orm_over_fast": round(plain_us / fast_us, 2),
        "saved_us_per_call": round(plain_us - fast_us, 1),
    }


def measure(rounds: int, calls: int) -> list[dict]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from agencies.models import Agency
    from agencies.seed import seed_reference_data
    from disputes import services
    from disputes.models import Dispute
    from disputes.services.rows import lock_dispute_row
    from relay.delivery import _store_sealed
    from relay.models import InboundStream, OutboundPacket
    from relay.placement import _stream

    seed_reference_data()
    user = get_user_model().objects.create_user("bench", password=secrets.token_hex(8))
    user.user_permissions.add(*Permission.objects.filter(codename="handle_dispute"))
    user = get_user_model().objects.get(pk=user.pk)
    dispute = services.file_dispute(
        actor=services.Actor.caseworker(user),
        consumer_name="Dewi Lestari",
        consumer_email="dewi@example.id",
        **_dispute_fields(),
    )
    kca = Agency.objects.get(code="KR-KCA")
    packets = [
        OutboundPacket.objects.create(
            lane=0,
            pid=f"bench-{index}",
            type="dispute.message",
            recipient=kca,
            mou_reference="MOU-BPKN-KCA-2021",
            state=OutboundPacket.State.QUEUED,
            created_at=timezone.now(),
            deadline_at=timezone.now(),
            next_attempt_at=timezone.now(),
            body={},
        )
        for index in range(20)
    ]
    for packet in packets:
        packet.sealed, packet.sealed_sha256 = "x" * 3000, "0" * 64
        packet.issued_at = packet.expires_at = timezone.now()

    def stream_by_orm():
        InboundStream.objects.get_or_create(sender=kca, dispute_reference="BENCH-1")
        InboundStream.objects.select_for_update().get(sender=kca, dispute_reference="BENCH-1")

    def sealed_by_orm():
        OutboundPacket.objects.bulk_update(
            packets, ["sealed", "sealed_sha256", "issued_at", "expires_at"]
        )

    return [
        pair(
            "disputes.services.rows.lock_dispute_row (a dispute's own row under its lock)",
            lambda: lock_dispute_row(pk=dispute.pk),
            lambda: Dispute.objects.select_for_update(of=("self",)).get(pk=dispute.pk),
            rounds=rounds,
            calls=calls,
        ),
        pair(
            "relay.placement._stream (a dispute's inbound stream, created or locked)",
            lambda: _stream(kca, "BENCH-1"),
            stream_by_orm,
            rounds=rounds,
            calls=calls,
        ),
        pair(
            "relay.delivery._store_sealed (20 sealed packets stored, one batch)",
            lambda: _store_sealed(packets),
            sealed_by_orm,
            rounds=rounds,
            calls=max(1, calls // 10),
        ),
    ]


def _dispute_fields() -> dict:
    import datetime as dt
    from decimal import Decimal

    from agencies.models import Category, Country
    from disputes.models import ProblemType, Remedy

    return {
        "consumer_country": Country.objects.get(code="ID"),
        "consumer_language": "id",
        "merchant_name": "Seoul Gadget Store",
        "merchant_country": Country.objects.get(code="KR"),
        "purchase_date": dt.date(2026, 10, 1),
        "amount": Decimal("1250000.00"),
        "currency": "IDR",
        "payment_method": "card",
        "category": Category.objects.first(),
        "problem_types": [ProblemType.objects.first()],
        "desired_remedy": Remedy.objects.first(),
        "consumer_account": "The phone never arrived.",
        "filing_language": "id",
        "intake_channel": "web",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        for line in measure(args.rounds, args.calls):
            print(json.dumps(line, ensure_ascii=False))
        return
    import psycopg

    name = f"odr_bench_fast_{secrets.token_hex(4)}"
    parts = urlsplit(args.database_url)
    database_url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    with psycopg.connect(args.database_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ODR_NODE": "ID-BPKN",
        "DJANGO_SETTINGS_MODULE": "odr.settings",
    }
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
        subprocess.run(
            [sys.executable, __file__, "--inside", *sys.argv[1:]], cwd=ROOT, env=env, check=True
        )
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
