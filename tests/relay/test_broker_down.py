"""A broker that is down when a change commits: the change stands, nobody sees an error, and the
sweeps send the packet and the consumer's email once the broker is back (the database, not the
queue, holds the truth)."""

from __future__ import annotations

import contextlib
import logging
import socket

import pytest
from django.core import mail

from disputes import services as disputes
from odr.celery import app as celery_app
from portal import tasks as portal_tasks
from portal.models import Notification
from relay import tasks
from relay.models import OutboundPacket
from tests.factories import file_dispute
from tests.relay.partner import PartnerServer, our_key

pytestmark = pytest.mark.django_db


def _use_broker(url: str | None, write_url: str | None = None) -> None:
    celery_app.conf.broker_url = url
    celery_app.conf.broker_write_url = write_url
    # The app keeps its connection and producer pools; new ones connect to the new URL.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextlib.contextmanager
def broker_down():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port was free a moment ago and nothing listens on it now: connections are refused.
    saved = celery_app.conf.broker_url, celery_app.conf.broker_write_url
    closed = f"redis://127.0.0.1:{port}/0"
    _use_broker(closed, closed)
    try:
        yield
    finally:
        _use_broker(*saved)


def test_a_forward_commits_without_an_error_and_the_sweep_delivers_it_later(
    node, kca, caseworker, django_capture_on_commit_callbacks, caplog, mail_marks
):
    dispute = file_dispute(consumer_email="ayu@example.id")
    actor = disputes.Actor.caseworker(caseworker)
    disputes.start_review(dispute, actor=actor)
    caplog.set_level(logging.WARNING)

    with broker_down(), django_capture_on_commit_callbacks(execute=True) as callbacks:
        forwarded = disputes.forward_dispute(dispute, actor=actor)

    assert callbacks, "the publish runs after commit"
    assert forwarded.status == "forwarded"
    packet = OutboundPacket.objects.get(dispute=dispute, type="dispute.forward")
    assert packet.state == "queued"
    assert "could not queue delivery to KR-KCA" in caplog.text
    # The consumer's email about the forward waits in the database for the resend sweep.
    notification = Notification.objects.get(event__dispute=dispute, event__to_status="forwarded")
    assert notification.sent_at is None
    assert "could not queue notification" in caplog.text

    with PartnerServer(kca, our_key("sig").public_jwk) as partner:
        kca.agency.inbox_url = partner.url
        kca.agency.save()
        celery_app.conf.task_always_eager = True
        try:
            assert tasks.sweep_outbox() == 1
            # The email sweep wakes the consumer email sender, which sends all that waited.
            assert portal_tasks.send_pending_notifications() == 1
        finally:
            celery_app.conf.task_always_eager = False
    packet.refresh_from_db()
    assert packet.state == "acknowledged"
    assert [claims["pid"] for claims in partner.received] == [packet.pid]
    notification.refresh_from_db()
    assert notification.sent_at is not None and notification.attempts == 1
    # Filing receipt, under review (their wake-ups were not run in this test), forwarded: once.
    waited = Notification.objects.filter(dispute=dispute)
    assert not waited.filter(sent_at__isnull=True).exists()
    assert waited.count() == 3
    assert len(mail.outbox) == 2  # the receipt; both status changes in one email
    assert all(email.to == ["ayu@example.id"] for email in mail.outbox)
    assert portal_tasks.send_pending_notifications() == 0
