"""Interoperability: an independent JOSE implementation (jwcrypto), using only what
docs/protocol.md specifies, builds packets our inbox accepts and reads the packets and receipts
our node produces."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import timezone
from jwcrypto import jwe, jwk, jws
from ulid import ULID

from agencies.services import pin_agency_key
from disputes import services
from disputes.models import Dispute
from relay.delivery import deliver
from relay.models import OutboundPacket
from tests.factories import file_dispute
from tests.relay.partner import PDF, forward_body

pytestmark = pytest.mark.django_db

JWS_ALGS = ["Ed25519"]
JWE_ALGS = ["ECDH-ES+A256KW", "A256GCM"]


@pytest.fixture
def other_node(node):
    """KCA's keys made by jwcrypto, pinned here as at onboarding."""
    sig = jwk.JWK.generate(kty="OKP", crv="Ed25519", kid="KR-KCA-sig-20261125-0a0a", use="sig")
    enc = jwk.JWK.generate(kty="OKP", crv="X25519", kid="KR-KCA-enc-20261125-0b0b", use="enc")
    for key in (sig, enc):
        pin_agency_key(node.__class__.objects.get(code="KR-KCA"), json.loads(key.export_public()))
    return sig, enc


def our_public_keys(client) -> dict[str, jwk.JWK]:
    published = client.get("/.well-known/jwks.json").json()
    return {key["use"]: jwk.JWK(**key) for key in published["keys"]}


def test_a_packet_built_by_jwcrypto_is_accepted_and_its_receipt_verifies(client, other_node):
    sig, _enc = other_node
    ours = our_public_keys(client)
    now = int(timezone.now().timestamp())
    claims = {
        "odr": 1,
        "pid": str(ULID()),
        "type": "dispute.forward",
        "iss": "KR-KCA",
        "aud": "ID-BPKN",
        "mou": "MOU-BPKN-KCA-2021",
        "dispute": "KCA-2026-000042",
        "seq": 1,
        "iat": now,
        "exp": now + 3600,
        "lang": "ko",
        "body": forward_body(),
    }
    signed = jws.JWS(json.dumps(claims).encode())
    signed.allowed_algs = JWS_ALGS
    signed.add_signature(
        sig, alg="Ed25519", protected={"alg": "Ed25519", "kid": sig.kid, "typ": "odr-packet+jws"}
    )
    encrypted = jwe.JWE(
        signed.serialize(compact=True).encode(),
        protected={
            "alg": "ECDH-ES+A256KW",
            "enc": "A256GCM",
            "kid": ours["enc"].kid,
            "typ": "odr-packet+jwe",
            "cty": "odr-packet+jws",
        },
    )
    encrypted.allowed_algs = JWE_ALGS
    encrypted.add_recipient(ours["enc"])
    sealed = encrypted.serialize(compact=True)

    response = client.post(reverse("relay:inbox"), sealed, content_type="application/jose")

    assert response.status_code == 200, response.json()
    assert Dispute.objects.get(reference="KCA-2026-000042").evidence.count() == 1
    receipt = jws.JWS()
    receipt.allowed_algs = JWS_ALGS
    receipt.deserialize(response.json()["receipt"])
    receipt.verify(ours["sig"])
    claims_back = json.loads(receipt.payload)
    assert claims_back["pid"] == claims["pid"]
    assert claims_back["status"] == "accepted"
    import hashlib

    assert claims_back["sha256"] == hashlib.sha256(sealed.encode()).hexdigest()


def test_jwcrypto_opens_and_verifies_a_packet_our_node_built(client, other_node, caseworker):
    _sig, enc = other_node
    ours = our_public_keys(client)
    dispute = file_dispute(evidence=[("receipt.pdf", PDF)])
    actor = services.Actor.caseworker(caseworker)
    services.start_review(dispute, actor=actor)
    services.forward_dispute(dispute, actor=actor)
    packet = OutboundPacket.objects.get()
    packet.recipient.inbox_url = "http://127.0.0.1:9/relay/inbox/"  # sealed, not delivered
    packet.recipient.save()
    deliver(packet.pk)
    packet.refresh_from_db()

    encrypted = jwe.JWE()
    encrypted.allowed_algs = JWE_ALGS
    encrypted.deserialize(packet.sealed, key=enc)
    assert encrypted.jose_header["alg"] == "ECDH-ES+A256KW"
    assert encrypted.jose_header["kid"] == enc.kid
    signed = jws.JWS()
    signed.allowed_algs = JWS_ALGS
    signed.deserialize(encrypted.payload.decode())
    signed.verify(ours["sig"])
    assert signed.jose_header["alg"] == "Ed25519"
    claims = json.loads(signed.payload)
    assert claims["pid"] == packet.pid
    assert (claims["iss"], claims["aud"], claims["seq"]) == ("ID-BPKN", "KR-KCA", 1)
    assert claims["body"]["reference"] == dispute.reference
