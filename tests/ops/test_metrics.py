"""/metrics: the node's figures for Prometheus, read from the database when scraped."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from disputes import services as disputes
from relay.delivery import deliver
from relay.models import OutboundPacket
from tests.factories import file_dispute
from tests.relay.partner import PartnerServer, our_key

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def forward_to_kca(caseworker) -> OutboundPacket:
    dispute = file_dispute()
    actor = disputes.Actor.caseworker(caseworker)
    disputes.start_review(dispute, actor=actor)
    disputes.forward_dispute(dispute, actor=actor)
    return OutboundPacket.objects.get(dispute=dispute, type="dispute.forward")


def test_a_forwarded_packet_is_counted_queued_then_sent_and_acknowledged(
    client, node, kca, caseworker
):
    before = scrape(client)
    kca_sent = ("odr_relay_packets_sent_total", (("partner", "KR-KCA"),))
    packet = forward_to_kca(caseworker)

    queued = scrape(client)
    depth = ("odr_relay_outbox_depth", (("partner", "KR-KCA"),))
    assert queued[depth] == before.get(depth, 0) + 1
    assert queued.get(kca_sent, 0) == before.get(kca_sent, 0)

    with PartnerServer(kca, our_key("sig").public_jwk) as partner:
        kca.agency.inbox_url = partner.url
        kca.agency.save(update_fields=["inbox_url"])
        assert deliver(packet.pk) == "acknowledged"

    after = scrape(client)
    assert after[kca_sent] == before.get(kca_sent, 0) + 1
    assert after[depth] == before.get(depth, 0)
    acknowledged = (
        "odr_relay_outbound_packets",
        (("partner", "KR-KCA"), ("state", "acknowledged")),
    )
    assert after[acknowledged] == before.get(acknowledged, 0) + 1
    latency = ("odr_relay_delivery_latency_seconds_count", (("partner", "KR-KCA"),))
    assert after[latency] == before.get(latency, 0) + 1
    slowest = ("odr_relay_delivery_latency_seconds_bucket", (("le", "+Inf"), ("partner", "KR-KCA")))
    assert after[slowest] == after[latency]
    filed = ("odr_disputes_filed_total", (("channel", "web"),))
    assert after[filed] >= 1


def test_requests_are_counted_by_method_and_status(client):
    key = ("odr_http_requests_total", (("method", "GET"), ("status", "404")))
    before = scrape(client).get(key, 0)
    client.get("/no-such-page/")
    assert scrape(client)[key] == before + 1


def test_with_a_token_configured_metrics_need_it(client, settings):
    settings.ODR_METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")


def test_in_production_metrics_without_a_token_are_refused(client, settings):
    settings.PRODUCTION = True
    settings.ODR_METRICS_TOKEN = ""
    response = client.get("/metrics")
    assert response.status_code == 403
    assert response.json() == {"code": "metrics_token_not_configured"}
