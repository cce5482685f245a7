"""Log lines: JSON with the ids that tie them together, and nothing personal or secret in them."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core import mail

from disputes import services as disputes
from disputes.models import Dispute
from odr.logs import JsonFormatter, log_context
from portal.mailer import send_due_notifications
from portal.tokens import tracking_path
from relay.delivery import deliver
from relay.models import OutboundPacket
from tests.portal.conftest import answers, fill_steps
from tests.relay.partner import PartnerServer, our_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    """Everything logged at DEBUG and above, as the production handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_is_json_with_the_node_and_the_ids_of_its_context(json_log):
    logger = logging.getLogger("odr.test")
    with log_context(request_id="req-1", packet_id="01JPACKET"):
        logger.warning("delivery to %s failed", "KR-KCA", extra={"partner": "KR-KCA"})
    logger.info("outside")
    inside, outside = lines(json_log)
    assert inside["message"] == "delivery to KR-KCA failed"
    assert (inside["level"], inside["logger"], inside["node"]) == ("WARNING", "odr.test", "ID-BPKN")
    assert (inside["request_id"], inside["packet_id"], inside["partner"]) == (
        "req-1",
        "01JPACKET",
        "KR-KCA",
    )
    assert "request_id" not in outside and "packet_id" not in outside


def test_addresses_tracking_tokens_and_credentials_are_masked_whatever_logs_them(json_log):
    logger = logging.getLogger("odr.test")
    logger.error("refused: <dewi.lestari@example.id> at /track/AbC.dEf-123/ with Bearer s3cr3t")
    try:
        raise ValueError("no mailbox for budi@bpkn.example")
    except ValueError:
        logger.exception("sending failed")
    first, second = lines(json_log)
    assert first["message"] == "refused: <[email]> at /track/[token]/ with Bearer [secret]"
    assert "budi@bpkn.example" not in second["exception"]
    assert "no mailbox for [email]" in second["exception"]


def test_filing_tracking_emailing_and_forwarding_log_nothing_personal(
    client,
    seeded,
    caseworker,
    node,
    kca,
    json_log,
    django_capture_on_commit_callbacks,
    delivery_marks,
    mail_marks,
):
    personal = {
        "consumer_name": "Putri Anggraini",
        "consumer_email": "putri.anggraini@example.id",
        "consumer_phone": "+62 813 9876 5432",
    }
    account = "Kartu kredit saya 4111 1111 1111 1111 ditagih dua kali oleh penjual."
    steps = answers(seeded, you=personal, problem={"consumer_account": account})
    with django_capture_on_commit_callbacks(execute=True):
        fill_steps(client, steps)
        client.post("/file/review/", {"action": "submit", "confirm": "on"}, follow=True)
    dispute = Dispute.objects.get(consumer_email=personal["consumer_email"])
    token = tracking_path(dispute).split("/")[2]
    assert client.get(tracking_path(dispute)).status_code == 200
    assert client.get(f"/track/{token}x/").status_code == 404
    send_due_notifications()
    assert mail.outbox  # the consumer's receipt went out
    actor = disputes.Actor.caseworker(caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        disputes.start_review(dispute, actor=actor)
        disputes.forward_dispute(dispute, actor=actor)
    packet = OutboundPacket.objects.get(dispute=dispute, type="dispute.forward")
    with PartnerServer(kca, our_key("sig").public_jwk) as partner:
        kca.agency.inbox_url = partner.url
        kca.agency.save(update_fields=["inbox_url"])
        assert deliver(packet.pk) == "acknowledged"

    logged = lines(json_log)
    about_packet = [line for line in logged if line.get("packet_id") == packet.pid]
    assert {line["state"] for line in about_packet} >= {"queued", "acknowledged"}
    text = json_log.getvalue()
    assert dispute.reference in text
    for value in (*personal.values(), "9876 5432", "4111 1111", token):
        assert value not in text, value
