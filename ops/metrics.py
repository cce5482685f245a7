"""Prometheus metrics of a node.

Two kinds:

- Domain figures (filings, packets per partner and state, delivery latency, outbox depth, email
  backlog) are read from the database when Prometheus scrapes (``DatabaseCollector``). The
  database is the source of truth, so the figures are the same whichever gunicorn worker
  answers, and counters survive restarts.
- Process figures (HTTP requests, Celery task failures) are counted where they happen. With
  several processes, set ``PROMETHEUS_MULTIPROC_DIR`` to a directory that the web and worker
  processes of one machine share and that is emptied when they start (deploy/ does both); the
  scrape then adds up every process's files (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from . import selectors

HTTP_REQUESTS = Counter(
    "odr_http_requests", "HTTP requests answered", ["method", "status"], registry=REGISTRY
)
HTTP_DURATION = Histogram(
    "odr_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
TASK_FAILURES = Counter(
    "odr_celery_task_failures", "Celery tasks that raised", ["task"], registry=REGISTRY
)
TASK_RETRIES = Counter(
    "odr_celery_task_retries", "Celery tasks that asked to be retried", ["task"], registry=REGISTRY
)


class DatabaseCollector(Collector):
    """The node's domain figures, read from its database at scrape time."""

    def collect(self):
        filings = CounterMetricFamily(
            "odr_disputes_filed", "Disputes filed at this node", labels=["channel"]
        )
        for channel, count in sorted(selectors.filings_by_channel().items()):
            filings.add_metric([channel], count)
        yield filings

        outbound = GaugeMetricFamily(
            "odr_relay_outbound_packets",
            "Outbound case packets by partner and state (queued, sent, acknowledged, refused, "
            "dead)",
            labels=["partner", "state"],
        )
        sent = CounterMetricFamily(
            "odr_relay_packets_sent", "Outbound packets sent at least once", labels=["partner"]
        )
        depth = GaugeMetricFamily(
            "odr_relay_outbox_depth",
            "Outbound packets waiting for delivery or a receipt",
            labels=["partner"],
        )
        sent_by_partner: dict[str, int] = {}
        depth_by_partner: dict[str, int] = {}
        for partner, state, count, sent_count in selectors.outbound_packets_by_state():
            outbound.add_metric([partner, state], count)
            sent_by_partner[partner] = sent_by_partner.get(partner, 0) + sent_count
            depth_by_partner.setdefault(partner, 0)
            if state in ("queued", "sent"):
                depth_by_partner[partner] += count
        for partner, count in sorted(sent_by_partner.items()):
            sent.add_metric([partner], count)
        for partner, count in sorted(depth_by_partner.items()):
            depth.add_metric([partner], count)
        yield outbound
        yield sent
        yield depth

        oldest = GaugeMetricFamily(
            "odr_relay_oldest_undelivered_seconds",
            "Age of the oldest packet to a partner not yet acknowledged",
            labels=["partner"],
        )
        for partner, age in sorted(selectors.oldest_undelivered().items()):
            oldest.add_metric([partner], age)
        yield oldest

        inbound = GaugeMetricFamily(
            "odr_relay_inbound_packets",
            "Inbound case packets by partner and state (applied, waiting, refused)",
            labels=["partner", "state"],
        )
        received = CounterMetricFamily(
            "odr_relay_packets_received", "Authenticated packets received", labels=["partner"]
        )
        received_by_partner: dict[str, int] = {}
        for partner, state, count in selectors.inbound_packets_by_state():
            inbound.add_metric([partner, state], count)
            received_by_partner[partner] = received_by_partner.get(partner, 0) + count
        for partner, count in sorted(received_by_partner.items()):
            received.add_metric([partner], count)
        yield inbound
        yield received

        refusals = CounterMetricFamily(
            "odr_relay_inbox_refusals",
            "Packets the inbox refused before authenticating them",
        )
        refusals.add_metric([], selectors.inbox_refusals())
        yield refusals

        latency = HistogramMetricFamily(
            "odr_relay_delivery_latency_seconds",
            "From a packet's creation to the partner's receipt",
            labels=["partner"],
        )
        for figures in selectors.delivery_latency():
            buckets = [(str(bound), count) for bound, count in figures.buckets]
            buckets.append(("+Inf", figures.count))
            latency.add_metric([figures.partner], buckets, figures.total_seconds)
        yield latency

        waiting, failing = selectors.email_backlog()
        backlog = GaugeMetricFamily(
            "odr_email_backlog", "Consumer emails not sent yet", labels=["kind"]
        )
        backlog.add_metric(["waiting"], waiting)
        backlog.add_metric(["failing"], failing)
        yield backlog


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def process_registry() -> CollectorRegistry:
    """This process's figures, or in multiprocess mode those of every process on the machine."""
    if not multiprocess():
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def exposition() -> bytes:
    """The text Prometheus scrapes: this machine's process figures and the database's."""
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector())
    return generate_latest(process_registry()) + generate_latest(database)


def observe_request(method: str, status: int, seconds: float) -> None:
    method = method if method in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} else "other"
    HTTP_REQUESTS.labels(method, str(status)).inc()
    HTTP_DURATION.labels(method).observe(seconds)


def serve_worker_metrics(**_kwargs) -> None:
    """A worker has no web server: with ODR_WORKER_METRICS_PORT it serves its own process
    figures (task failures and retries, all pool processes added up) on that port."""
    from django.conf import settings
    from prometheus_client import start_http_server

    if not settings.ODR_WORKER_METRICS_PORT:
        return
    start_http_server(settings.ODR_WORKER_METRICS_PORT, registry=process_registry())


def forget_pool_process(pid=None, **_kwargs) -> None:
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.mark_process_dead(pid or os.getpid())


def connect_celery_signals() -> None:
    from celery.signals import task_failure, task_retry, worker_init, worker_process_shutdown

    worker_init.connect(serve_worker_metrics, weak=False, dispatch_uid="ops.metrics.serve")
    worker_process_shutdown.connect(
        forget_pool_process, weak=False, dispatch_uid="ops.metrics.forget"
    )

    def failed(sender=None, **_kwargs) -> None:
        TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()

    def retried(sender=None, **_kwargs) -> None:
        TASK_RETRIES.labels(getattr(sender, "name", "unknown")).inc()

    task_failure.connect(failed, weak=False, dispatch_uid="ops.metrics.task_failure")
    task_retry.connect(retried, weak=False, dispatch_uid="ops.metrics.task_retry")
