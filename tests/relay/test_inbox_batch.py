"""Several packets in one request (protocol 5.1): each is answered as if it had come alone."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from disputes.models import Dispute
from relay import packets
from relay.models import InboundPacket, InboxRefusal
from tests.relay.partner import forward_body, message_body, our_key

pytestmark = pytest.mark.django_db

REF = "KCA-2026-000042"


def post_batch(client, sealed: list[bytes | str]):
    items = [s.decode() if isinstance(s, bytes) else s for s in sealed]
    return client.post(
        reverse("relay:inbox"), json.dumps({"packets": items}), content_type="application/json"
    )


def test_a_batch_is_applied_in_order_and_each_packet_gets_its_own_receipt(client, kca, node):
    forward = kca.packet("dispute.forward", forward_body(), dispute=REF)
    message = kca.packet("dispute.message", message_body("Any news?"), dispute=REF)

    response = post_batch(client, [forward, message])

    assert response.status_code == 200
    first, second = response.json()["results"]
    assert (first["http_status"], first["status"], first["code"]) == (200, "accepted", "applied")
    assert (second["http_status"], second["code"]) == (200, "applied")
    key = our_key("sig")
    for sealed, result in zip((forward, message), (first, second), strict=True):
        receipt = packets.read_receipt(result["receipt"], {key.kid: key.public_jwk})
        assert receipt["sha256"] == packets.sha256_hex(sealed)
        assert receipt["pid"] == result["pid"]
    dispute = Dispute.objects.get(reference=REF)
    assert dispute.messages.filter(body="Any news?").exists()
    assert InboundPacket.objects.filter(state="applied").count() == 2


def test_a_bad_packet_in_a_batch_is_refused_alone(client, kca, node):
    forward = kca.packet("dispute.forward", forward_body(), dispute=REF)
    garbage = "not.a.packet.at.all"
    replay = forward

    response = post_batch(client, [forward, garbage, replay])

    applied, refused, replayed = response.json()["results"]
    assert applied["code"] == "applied"
    assert (refused["http_status"], refused["status"], refused["code"]) == (
        400,
        "refused",
        "malformed",
    )
    # The same packet twice: the original receipt again, applied once.
    assert replayed["receipt"] == applied["receipt"]
    assert Dispute.objects.filter(reference=REF).count() == 1
    assert InboxRefusal.objects.get().code == "malformed"


def test_a_packet_the_case_refuses_in_a_batch_leaves_the_others_applied(client, kca, node):
    # A batch is applied in one transaction; a refusal inside it takes that back and the
    # packets are placed one by one, each with the answer it would have had alone.
    forward = kca.packet("dispute.forward", forward_body(), dispute=REF)
    blank = kca.packet("dispute.message", message_body("   "), dispute=REF)
    later = kca.packet("dispute.message", message_body("Any news?"), dispute=REF)

    response = post_batch(client, [forward, blank, later])

    codes = [result["code"] for result in response.json()["results"]]
    assert codes == ["applied", "domain_rejected", "applied"]
    dispute = Dispute.objects.get(reference=REF)
    assert list(dispute.messages.order_by("pk").values_list("body", flat=True))[1:] == ["Any news?"]
    assert list(InboundPacket.objects.order_by("seq").values_list("state", flat=True)) == [
        "applied",
        "refused",
        "applied",
    ]


@pytest.mark.parametrize(
    "body",
    ["not json", json.dumps(["a", "b"]), json.dumps({"packets": []}), json.dumps({"packets": [1]})],
)
def test_a_body_that_is_not_a_batch_is_refused_with_a_code(client, node, body):
    response = client.post(reverse("relay:inbox"), body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_batch"
    assert not InboundPacket.objects.exists()


def test_a_batch_over_the_limit_is_refused_before_any_packet_is_opened(client, kca, node, settings):
    settings.ODR_RELAY_BATCH_MAX = 2
    sealed = [
        kca.packet("partner.ping", {"nonce": f"n{i:07d}", "sent_at": "2026-11-25T00:00:00Z"})
        for i in range(3)
    ]

    response = post_batch(client, sealed)

    assert response.status_code == 413
    assert response.json()["code"] == "batch_too_large"
    assert not InboundPacket.objects.exists()
