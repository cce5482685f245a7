"""docs/protocol.md and its examples stay true: every example opens and verifies with the keys
printed beside it, matches its schema, and every refusal code is documented with its status."""

from __future__ import annotations

import hashlib
import json
import re

from django.conf import settings
from joserfc import jwe, jws
from joserfc.jwk import OKPKey

from relay import packets

DOCS = settings.BASE_DIR / "docs"


def block(text: str, marker: str) -> str:
    found = re.search(rf"<!-- {re.escape(marker)} -->\s*```\w*\n(.*?)```", text, re.S)
    assert found, f"no {marker} in docs/protocol-examples.md"
    return found.group(1).strip()


def test_every_example_packet_opens_verifies_and_matches_its_schema():
    text = (DOCS / "protocol-examples.md").read_text()
    keys = {
        name: OKPKey.import_key(jwk)
        for name, jwk in json.loads(block(text, "example-keys")).items()
    }
    sender = OKPKey.import_key(
        {n: keys["bpkn_sig"].as_dict(private=False)[n] for n in ("kty", "crv", "x")}
    )
    for packet_type in packets.PACKET_TYPES:
        shown = json.loads(block(text, f"example-claims: {packet_type}"))
        sealed = block(text, f"example-packet: {packet_type}")
        opened = jwe.decrypt_compact(sealed, keys["kca_enc"], algorithms=packets.JWE_ALGORITHMS)
        assert opened.headers()["alg"] == "ECDH-ES+A256KW"
        assert opened.headers()["enc"] == "A256GCM"
        signed = jws.deserialize_compact(opened.plaintext, sender, algorithms=["Ed25519"])
        assert signed.headers()["alg"] == "Ed25519"
        claims = json.loads(signed.payload)
        assert claims == shown
        assert claims["type"] == packet_type
        assert packets.schema_errors("envelope", claims) == []
        assert packets.schema_errors(packet_type, claims["body"]) == []


def test_the_example_receipt_verifies_and_covers_the_forward_packet():
    text = (DOCS / "protocol-examples.md").read_text()
    keys = json.loads(block(text, "example-keys"))
    receipt = block(text, "example-receipt")
    claims = packets.read_receipt(receipt, {keys["kca_sig"]["kid"]: keys["kca_sig"]})
    assert claims == json.loads(block(text, "example-receipt-claims"))
    forward = block(text, "example-packet: dispute.forward")
    assert claims["sha256"] == hashlib.sha256(forward.encode()).hexdigest()


def test_every_refusal_code_is_documented_with_its_http_status():
    text = (DOCS / "protocol.md").read_text()
    for code, (status, _meaning) in packets.REFUSALS.items():
        assert re.search(rf"\| `{code}` \| {status} \|", text), f"{code} ({status}) undocumented"
    for code, status in packets.ACCEPTED.items():
        assert re.search(rf"\| `{code}` \| {status} \|", text), f"{code} ({status}) undocumented"


def test_every_schema_file_is_referenced_by_the_protocol():
    text = (DOCS / "protocol.md").read_text()
    for path in sorted((settings.BASE_DIR / "relay" / "schemas").glob("*.v1.json")):
        assert f"relay/schemas/{path.name}" in text
