"""Example packets of every type, for docs/protocol-examples.md (``manage.py relay_examples``).

The keys are made fresh for each run and printed with the examples, private halves included:
they are example keys, never a node's.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

from joserfc.jwk import OKPKey

from . import packets

EVIDENCE = b"Order SGS-2026-88812: paid 1,250,000 IDR on 1 October 2026; not delivered.\n"
REFERENCE = "BPKN-2026-000123"
MOU = "MOU-BPKN-KCA-2021"
AT = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)


def _file(name: str, content: bytes, uploaded_by: str) -> dict:
    return {
        "name": name,
        "content_type": "text/plain",
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "uploaded_by": uploaded_by,
        "uploaded_at": "2026-11-20T08:00:00+00:00",
        "content_base64": base64.b64encode(content).decode(),
    }


MESSAGE = {
    "uid": "0b7f1f5e-5d1c-4f7e-9a63-2f0d1c4b8e21",
    "author_kind": "consumer",
    "author_name": "Dewi Lestari",
    "body": "Apakah ada kabar dari penjual?",
    "language": "id",
    "visible_to_consumer": True,
    "sent_at": "2026-11-22T04:10:00+00:00",
}

BODIES: dict[str, tuple[str, dict]] = {
    "dispute.forward": (
        "id",
        {
            "reference": REFERENCE,
            "home_agency": "ID-BPKN",
            "partner_agency": "KR-KCA",
            "mou": MOU,
            "filed_at": "2026-11-20T08:00:00+00:00",
            "forwarded_at": "2026-11-21T02:30:00+00:00",
            "consumer": {"name": "Dewi Lestari", "country": "ID", "language": "id"},
            "merchant": {
                "name": "Seoul Gadget Store",
                "website": "https://seoulgadget.example.kr",
                "country": "KR",
                "contact": "help@seoulgadget.example.kr",
            },
            "purchase": {
                "date": "2026-10-01",
                "order_number": "SGS-2026-88812",
                "amount": "1250000.00",
                "currency": "IDR",
                "payment_method": "card",
                "platform": "Seoul Gadget web shop",
            },
            "category": "electronics",
            "problem_types": ["non_delivery"],
            "desired_remedy": "refund",
            "account": {
                "text": "Saya membayar headphone tetapi barang tidak pernah dikirim.",
                "language": "id",
            },
            "intake_channel": "web",
            "evidence": [_file("order.txt", EVIDENCE, "consumer")],
            "messages": [MESSAGE],
        },
    ),
    "dispute.message": ("id", MESSAGE),
    "dispute.document": (
        "en",
        {
            "file": _file("letter.txt", b"Dear Seoul Gadget Store, ...\n", "home_agency"),
            "actor_kind": "home_agency",
            "actor_name": "Budi Santoso",
            "note": "Our letter to the merchant.",
            "language": "en",
            "visible_to_consumer": True,
        },
    ),
    "dispute.status": (
        "en",
        {
            "transition": "withdraw",
            "event": None,
            "from_status": "forwarded",
            "to_status": "withdrawn",
            "actor_kind": "consumer",
            "actor_name": "Dewi Lestari",
            "text": "The bank refunded me.",
            "language": "en",
            "at": "2026-11-23T01:00:00+00:00",
            "data": {},
        },
    ),
    "dispute.outcome": (
        "en",
        {
            "transition": "accept_settlement",
            "from_status": "negotiation",
            "to_status": "settled",
            "actor_kind": "consumer",
            "actor_name": "Dewi Lestari",
            "summary": "Full refund of 1,250,000 IDR to the card.",
            "language": "en",
            "settlement_amount": "1250000.00",
            "settlement_currency": "IDR",
            "referred_to": None,
            "at": "2026-11-24T06:00:00+00:00",
        },
    ),
    "partner.ping": ("", {"nonce": "5f3c9a1e77d04b21", "sent_at": "2026-11-25T03:00:00+00:00"}),
}


def example_keys() -> dict[str, OKPKey]:
    def make(crv, kid, use):
        return OKPKey.generate_key(crv, parameters={"kid": kid, "use": use}, private=True)

    return {
        "bpkn_sig": make("Ed25519", "ID-BPKN-sig-20261125-e001", "sig"),
        "bpkn_enc": make("X25519", "ID-BPKN-enc-20261125-e002", "enc"),
        "kca_sig": make("Ed25519", "KR-KCA-sig-20261125-e003", "sig"),
        "kca_enc": make("X25519", "KR-KCA-enc-20261125-e004", "enc"),
    }


def build() -> dict:
    """Keys, claims and sealed packets (BPKN to KCA), and KCA's receipt for the forward."""
    keys = example_keys()
    rotated_sig = OKPKey.generate_key(
        "Ed25519", parameters={"kid": "ID-BPKN-sig-20261201-e005", "use": "sig"}, private=True
    )
    rotated_enc = OKPKey.generate_key(
        "X25519", parameters={"kid": "ID-BPKN-enc-20261201-e006", "use": "enc"}, private=True
    )
    bodies = dict(BODIES)
    bodies["partner.keys"] = (
        "",
        {
            "keys": [
                {**_public(rotated_sig), "not_before": "2026-12-01T00:00:00+00:00"},
                {**_public(rotated_enc), "not_before": "2026-12-01T00:00:00+00:00"},
            ],
            "retire": [
                {"kid": keys["bpkn_sig"].kid, "not_after": "2026-12-15T00:00:00+00:00"},
                {"kid": keys["bpkn_enc"].kid, "not_after": "2026-12-15T00:00:00+00:00"},
            ],
        },
    )
    recipient = {**_public(keys["kca_enc"])}
    examples = []
    pids = iter(
        [
            "01KMX3Z7R0AAAAAAAAAAAAAAA1",
            "01KMX3Z7R0AAAAAAAAAAAAAAA2",
            "01KMX3Z7R0AAAAAAAAAAAAAAA3",
            "01KMX3Z7R0AAAAAAAAAAAAAAA4",
            "01KMX3Z7R0AAAAAAAAAAAAAAA5",
            "01KMX3Z7R0AAAAAAAAAAAAAAA6",
            "01KMX3Z7R0AAAAAAAAAAAAAAA7",
        ]
    )
    seq = 0
    for packet_type in packets.PACKET_TYPES:
        language, body = bodies[packet_type]
        is_dispute = packet_type in packets.DISPUTE_TYPES
        if is_dispute:
            seq += 1
        claims = {
            "odr": 1,
            "pid": next(pids),
            "type": packet_type,
            "iss": "ID-BPKN",
            "aud": "KR-KCA",
            "mou": MOU,
            "dispute": REFERENCE if is_dispute else None,
            "seq": seq if is_dispute else None,
            "iat": packets.epoch(AT),
            "exp": packets.epoch(AT + dt.timedelta(days=7)),
            "lang": language,
            "body": body,
        }
        sealed = packets.seal(claims, keys["bpkn_sig"], recipient)
        examples.append({"type": packet_type, "claims": claims, "packet": sealed})
    forward = examples[0]
    receipt = packets.sign_receipt(
        keys["kca_sig"],
        issuer="KR-KCA",
        audience="ID-BPKN",
        pid=forward["claims"]["pid"],
        raw_sha256=packets.sha256_hex(forward["packet"]),
        status="accepted",
        code="applied",
        at=AT + dt.timedelta(seconds=2),
    )
    return {
        "keys": {name: key.as_dict(private=True) for name, key in keys.items()},
        "examples": examples,
        "receipt": {"claims": receipt.claims, "compact": receipt.compact},
    }


def _public(key: OKPKey) -> dict:
    data = key.as_dict(private=False)
    return {name: data[name] for name in ("kty", "crv", "x", "kid", "use")}


def markdown(built: dict) -> str:
    keys = built["keys"]
    lines = [
        "# Example packets",
        "",
        "Generated by `manage.py relay_examples > docs/protocol-examples.md`; the test",
        "`tests/relay/test_protocol_doc.py` checks that every example here still opens and",
        "verifies. BPKN (ID-BPKN) sends to KCA (KR-KCA) under MOU-BPKN-KCA-2021. **These keys",
        "are examples, published with their private halves so that anyone can check the",
        "packets; never use them.**",
        "",
        "## Keys",
        "",
        "BPKN's signing key (Ed25519) signs the packets; KCA's encryption key (X25519) opens",
        "them; KCA's signing key signs the receipt.",
        "",
        "<!-- example-keys -->",
        "```json",
        json.dumps(keys, indent=2),
        "```",
        "",
    ]
    for example in built["examples"]:
        lines += [
            f"## {example['type']}",
            "",
            "Claims (the JWS payload; shown indented, signed as compact JSON):",
            "",
            f"<!-- example-claims: {example['type']} -->",
            "```json",
            json.dumps(example["claims"], indent=2, ensure_ascii=False),
            "```",
            "",
            "Packet (compact JWE, as POSTed with `Content-Type: application/jose`):",
            "",
            f"<!-- example-packet: {example['type']} -->",
            "```text",
            example["packet"],
            "```",
            "",
        ]
    lines += [
        "## Receipt",
        "",
        "KCA's receipt for the dispute.forward example above (a compact JWS):",
        "",
        "<!-- example-receipt-claims -->",
        "```json",
        json.dumps(built["receipt"]["claims"], indent=2),
        "```",
        "",
        "<!-- example-receipt -->",
        "```text",
        built["receipt"]["compact"],
        "```",
        "",
    ]
    return "\n".join(lines)
