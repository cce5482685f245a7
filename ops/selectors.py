"""Reads for operators: health and readiness checks, the doctor's findings, metric figures.

Everything here only reads. The health checks are what a load balancer or orchestrator asks
(``/healthz``, ``/readyz``); the doctor is what an administrator asks (``manage.py doctor``);
the figures are what Prometheus scrapes (``/metrics``), read from the database at scrape time so
that they are right whichever process answers and survive restarts.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.utils import timezone

# --- health ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return Check("database", False, type(error).__name__)
    return Check("database", True)


def check_broker(timeout: float = 2.0) -> Check:
    import redis

    from odr.embedded import redis_client

    client = redis_client(
        settings.CELERY_BROKER_URL, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        return Check("broker", False, type(error).__name__)
    finally:
        client.close()
    return Check("broker", True)


def check_keys() -> Check:
    """This node holds a valid private signing key and encryption key (files or environment)."""
    from relay.keys import KeyUnavailable, current_key

    try:
        for use in ("sig", "enc"):
            current_key(use)
    except KeyUnavailable:
        return Check("keys", False, "no valid private signing and encryption key")
    except Exception as error:  # unreadable key file, agency row missing: not ready
        return Check("keys", False, type(error).__name__)
    return Check("keys", True)


@functools.cache
def _all_migrations_applied() -> bool:
    # Cached only once true: migrations are not unapplied under a running process.
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise LookupError("unapplied migrations")
    return True


def check_migrations() -> Check:
    try:
        _all_migrations_applied()
    except LookupError:
        return Check("migrations", False, "unapplied migrations")
    except DatabaseError as error:
        return Check("migrations", False, type(error).__name__)
    return Check("migrations", True)


def readiness() -> list[Check]:
    database = check_database()
    checks = [database, check_broker()]
    if database.ok:
        checks += [check_migrations(), check_keys()]
    else:
        checks += [Check("migrations", False, "database"), Check("keys", False, "database")]
    return checks


# --- figures for Prometheus ----------------------------------------------------------------

LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400)


def outbound_packets_by_state() -> list[tuple[str, str, int, int]]:
    """(partner, state, packets, packets that were sent at least once) per partner and state."""
    from relay.models import OutboundPacket

    rows = (
        OutboundPacket.objects.values("recipient__code", "state")
        .annotate(n=Count("id"), sent=Count("id", filter=Q(attempts__gt=0)))
        .order_by()
    )
    return [(r["recipient__code"], r["state"], r["n"], r["sent"]) for r in rows]


def inbound_packets_by_state() -> list[tuple[str, str, int]]:
    from relay.models import InboundPacket

    rows = InboundPacket.objects.values("sender__code", "state").annotate(n=Count("id")).order_by()
    return [(r["sender__code"], r["state"], r["n"]) for r in rows]


def inbox_refusals() -> int:
    """Packets refused before they could be authenticated (bad signature, unknown sender...)."""
    from relay.models import InboxRefusal

    return InboxRefusal.objects.count()


def oldest_undelivered(now: dt.datetime | None = None) -> dict[str, float]:
    """Per partner, the age in seconds of the oldest packet not yet acknowledged or given up."""
    from relay.models import OutboundPacket

    now = now or timezone.now()
    rows = (
        OutboundPacket.objects.filter(
            state__in=[OutboundPacket.State.QUEUED, OutboundPacket.State.SENT]
        )
        .values("recipient__code")
        .annotate(oldest=Min("created_at"))
        .order_by()
    )
    return {r["recipient__code"]: (now - r["oldest"]).total_seconds() for r in rows}


@dataclass(frozen=True)
class Latency:
    partner: str
    count: int
    total_seconds: float
    buckets: tuple[tuple[float, int], ...]  # (upper bound, packets delivered within it)


def delivery_latency() -> list[Latency]:
    """From a packet's creation to its partner's receipt, per partner, as histogram buckets."""
    from relay.models import OutboundPacket

    delivered = Q(receipt_at__isnull=False)
    took = ExpressionWrapper(F("receipt_at") - F("created_at"), output_field=DurationField())
    figures = {
        f"le_{i}": Count(
            "id",
            filter=delivered & Q(receipt_at__lte=F("created_at") + dt.timedelta(seconds=bound)),
        )
        for i, bound in enumerate(LATENCY_BUCKETS)
    }
    rows = (
        OutboundPacket.objects.filter(delivered)
        .values("recipient__code")
        .annotate(n=Count("id"), total=Sum(took), **figures)
        .order_by()
    )
    return [
        Latency(
            partner=r["recipient__code"],
            count=r["n"],
            total_seconds=(r["total"] or dt.timedelta()).total_seconds(),
            buckets=tuple((bound, r[f"le_{i}"]) for i, bound in enumerate(LATENCY_BUCKETS)),
        )
        for r in rows
    ]


def filings_by_channel() -> dict[str, int]:
    """Disputes filed at this node, by intake channel."""
    from disputes.models import Dispute

    rows = (
        Dispute.objects.filter(home_agency__code=settings.ODR_NODE)
        .values("intake_channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {r["intake_channel"]: r["n"] for r in rows}


def email_backlog() -> tuple[int, int]:
    """(consumer emails not sent yet, of which have failed at least once)."""
    from portal.models import Notification

    figures = Notification.objects.filter(sent_at__isnull=True).aggregate(
        waiting=Count("id"), failing=Count("id", filter=Q(attempts__gt=0))
    )
    return figures["waiting"], figures["failing"]
