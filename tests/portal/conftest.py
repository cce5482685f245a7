"""Helpers for the consumer portal tests: a typical consumer's answers and small real files."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from django.utils import timezone

# Real file headers: evidence is checked by content, so these must look like what they claim.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def answers(seeded, **overrides) -> dict[str, dict]:
    """Form data for each step, as a consumer in Indonesia buying from a Korean shop types it."""
    from agencies.models import Category
    from disputes.models import ProblemType, Remedy

    steps = {
        "you": {
            "consumer_name": "Dewi Lestari",
            "consumer_email": "dewi@example.id",
            "consumer_phone": "+62 812 0000 1111",
            "consumer_country": "ID",
            "consumer_language": "id",
        },
        "merchant": {
            "merchant_name": "Seoul Gadget Store",
            "merchant_website": "https://seoulgadget.example.kr",
            "merchant_country": "KR",
            "merchant_contact": "",
        },
        "purchase": {
            "category": str(Category.objects.get(code="electronics").pk),
            "purchase_date": "2026-10-01",
            "order_number": "SGS-2026-88812",
            "amount": "1250000",
            "currency": "IDR",
            "payment_method": "card",
            "platform": "Seoul Gadget web shop",
        },
        "problem": {
            "problem_types": [str(ProblemType.objects.get(code="non_delivery").pk)],
            "desired_remedy": str(Remedy.objects.get(code="refund").pk),
            "consumer_account": "Saya membayar headphone tetapi barang tidak pernah dikirim.",
        },
    }
    for step, values in overrides.items():
        steps[step] = {**steps[step], **values}
    return steps


def fill_steps(client, steps: dict[str, dict]) -> None:
    for step, data in steps.items():
        response = client.post(f"/file/{step}/", {**data, "action": "next"})
        assert response.status_code == 302, (step, response.content.decode()[:3000])


@pytest.fixture
def find_limits():
    """The "find my dispute" rate limit lives in the shared Redis cache: start from zero."""

    def clear():
        keys = [f"portal:find:ip:{ip}" for ip in ("127.0.0.1", "unknown")]
        year = timezone.now().year
        keys += [
            f"portal:find:ref:BPKN-{y}-{n:06d}" for y in (year, year + 1) for n in range(1, 20)
        ]
        keys += ["portal:find:ref:BPKN-2099-000001"]
        cache.delete_many(keys)

    clear()
    yield
    clear()


@pytest.fixture(autouse=True)
def _mail_marks(mail_marks):
    """Every portal test starts with no consumer email sender marked queued or running."""


@pytest.fixture
def recording_mail(settings):
    """Emails go to tests.portal.backends.RecordingBackend (and mail.outbox)."""
    from tests.portal.backends import RecordingBackend

    settings.EMAIL_BACKEND = "tests.portal.backends.RecordingBackend"
    RecordingBackend.reset()
    yield RecordingBackend
    RecordingBackend.reset()


@pytest.fixture
def eager_celery():
    """Tasks queued by the code under test run at once in this process."""
    from odr.celery import app

    app.conf.task_always_eager = True
    try:
        yield app
    finally:
        app.conf.task_always_eager = False


def _broker_key_prefix(app, prefix: str) -> None:
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "global_keyprefix": prefix,
    }
    # The app caches its pools; kombu keeps one per set of transport options, so after this the
    # producers use connections with the new prefix (and the old ones stay usable for later).
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker in this process, on a queue of its own.

    The broker is shared (by every test run on this machine, and in CI by the services): a key
    prefix for this run keeps other workers from taking our emails, and ours from taking theirs.
    """
    from celery.contrib.testing.worker import start_worker

    from odr.celery import app

    saved = app.conf.broker_transport_options["global_keyprefix"]
    _broker_key_prefix(app, f"{saved}portal-test-{os.getpid()}:")
    try:
        with start_worker(app, perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30):
            yield
    finally:
        _broker_key_prefix(app, saved)
