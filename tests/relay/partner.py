"""A partner agency's node as our node sees it from the outside: its private keys (pinned here as
its public halves) and what it would put on the wire. Tests use it to send packets to our inbox
and to open the packets our node sends."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets

from django.conf import settings
from django.utils import timezone
from joserfc import jwe, jws
from joserfc.jwk import OKPKey

from agencies.models import Agency, AgencyKey
from agencies.services import pin_agency_key
from relay import packets

PDF = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"


def our_key(use: str) -> AgencyKey:
    return (
        AgencyKey.objects.filter(agency__code=settings.ODR_NODE, use=use)
        .order_by("-not_before", "-pk")
        .first()
    )


class Partner:
    def __init__(self, code: str = "KR-KCA", *, pin: bool = True):
        self.code = code
        self.agency = Agency.objects.get(code=code)
        tag = secrets.token_hex(2)
        self.sig = OKPKey.generate_key(
            "Ed25519", parameters={"kid": f"{code}-sig-test-{tag}", "use": "sig"}, private=True
        )
        self.enc = OKPKey.generate_key(
            "X25519", parameters={"kid": f"{code}-enc-test-{tag}", "use": "enc"}, private=True
        )
        if pin:
            for key in (self.sig, self.enc):
                public = key.as_dict(private=False)
                pin_agency_key(self.agency, {**public, "use": key.kid.split("-")[2]})
        self.next_seq: dict[str, int] = {}

    def claims(
        self,
        packet_type: str,
        body: dict,
        *,
        dispute: str | None = None,
        seq: int | None = None,
        now: dt.datetime | None = None,
        **overrides,
    ) -> dict:
        now = now or timezone.now()
        if dispute is not None and seq is None:
            seq = self.next_seq.get(dispute, 0) + 1
        if dispute is not None:
            self.next_seq[dispute] = max(seq, self.next_seq.get(dispute, 0))
        claims = {
            "odr": 1,
            "pid": packets.new_pid(),
            "type": packet_type,
            "iss": self.code,
            "aud": settings.ODR_NODE,
            "mou": "MOU-BPKN-KCA-2021",
            "dispute": dispute,
            "seq": seq,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + 3600,
            "lang": "en",
            "body": body,
        }
        claims.update(overrides)
        return claims

    def sign(self, claims: dict, *, header: dict | None = None, key: OKPKey | None = None) -> str:
        key = key or self.sig
        return jws.serialize_compact(
            header or {"alg": "Ed25519", "kid": key.kid, "typ": "odr-packet+jws"},
            packets.canonical_json(claims),
            key,
            algorithms=["Ed25519"],
        )

    def encrypt(self, signed: str, *, to: AgencyKey | None = None, header: dict | None = None):
        to = to or our_key("enc")
        public = OKPKey.import_key({n: to.public_jwk[n] for n in ("kty", "crv", "x")})
        return jwe.encrypt_compact(
            header
            or {
                "alg": "ECDH-ES+A256KW",
                "enc": "A256GCM",
                "kid": to.kid,
                "typ": "odr-packet+jwe",
                "cty": "odr-packet+jws",
            },
            signed,
            public,
            algorithms=["ECDH-ES+A256KW", "A256GCM"],
        ).encode()

    def packet(self, packet_type: str, body: dict, **claims) -> bytes:
        return self.encrypt(self.sign(self.claims(packet_type, body, **claims)))

    def open(self, sealed: str) -> dict:
        """Decrypt with this partner's key and verify with our node's pinned signing key."""
        opened = jwe.decrypt_compact(sealed, self.enc, algorithms=["ECDH-ES+A256KW", "A256GCM"])
        signed = opened.plaintext.decode()
        kid = jws.extract_compact(signed.encode()).headers()["kid"]
        key = AgencyKey.objects.get(kid=kid, use="sig")
        public = OKPKey.import_key({n: key.public_jwk[n] for n in ("kty", "crv", "x")})
        return json.loads(jws.deserialize_compact(signed, public, algorithms=["Ed25519"]).payload)

    def receipt(self, *, pid, sealed: str, status="accepted", code="applied") -> str:
        return packets.sign_receipt(
            self.sig,
            issuer=self.code,
            audience=settings.ODR_NODE,
            pid=pid,
            raw_sha256=packets.sha256_hex(sealed),
            status=status,
            code=code,
            at=timezone.now(),
        ).compact


def file_form(content: bytes = PDF, name: str = "receipt.pdf", uploaded_by="consumer") -> dict:
    return {
        "name": name,
        "content_type": "application/pdf",
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "uploaded_by": uploaded_by,
        "uploaded_at": "2026-11-20T08:00:00+00:00",
        "content_base64": base64.b64encode(content).decode(),
    }


def forward_body(reference: str = "KCA-2026-000042", **overrides) -> dict:
    """A Korean consumer's case against an Indonesian shop, as KCA forwards it to BPKN."""
    body = {
        "reference": reference,
        "home_agency": "KR-KCA",
        "partner_agency": "ID-BPKN",
        "mou": "MOU-BPKN-KCA-2021",
        "filed_at": "2026-11-18T02:00:00+00:00",
        "forwarded_at": "2026-11-20T02:00:00+00:00",
        "consumer": {"name": "Kim Minji", "country": "KR", "language": "ko"},
        "merchant": {
            "name": "Batik Nusantara Online",
            "website": "https://batik.example.id",
            "country": "ID",
            "contact": "cs@batik.example.id",
        },
        "purchase": {
            "date": "2026-10-28",
            "order_number": "BN-7781",
            "amount": "89000.00",
            "currency": "KRW",
            "payment_method": "card",
            "platform": "",
        },
        "category": "clothing",
        "problem_types": ["non_delivery"],
        "desired_remedy": "refund",
        "account": {"text": "주문한 바틱 셔츠가 배송되지 않았습니다.", "language": "ko"},
        "intake_channel": "web",
        "evidence": [file_form()],
        "messages": [
            {
                "uid": "5b0e1c9e-0d0c-4c4e-9b0c-000000000001",
                "author_kind": "consumer",
                "author_name": "Kim Minji",
                "body": "배송 조회가 되지 않습니다.",
                "language": "ko",
                "visible_to_consumer": True,
                "sent_at": "2026-11-19T01:00:00+00:00",
            }
        ],
    }
    body.update(overrides)
    return body


def status_body(transition=None, event=None, *, text="", actor_kind="home_agency", **data):
    return {
        "transition": transition,
        "event": event,
        "from_status": "",
        "to_status": "",
        "actor_kind": actor_kind,
        "actor_name": "Park Jisoo",
        "text": text,
        "language": "en" if text else "",
        "at": "2026-11-21T02:00:00+00:00",
        "data": data,
    }


def message_body(text: str, *, uid: str | None = None, author_kind="home_agency") -> dict:
    return {
        "uid": uid or secrets.token_hex(8),
        "author_kind": author_kind,
        "author_name": "Park Jisoo",
        "body": text,
        "language": "en",
        "visible_to_consumer": True,
        "sent_at": "2026-11-21T03:00:00+00:00",
    }


class PartnerServer:
    """The partner's inbox as a real HTTP server on loopback (a thread of this process).

    It opens each packet with the partner's private key, verifies it with our node's public
    signing key (given at start: the server thread never touches our test database), keeps what
    it received, and answers as ``answer(claims)`` says: (HTTP status, receipt status, code), or
    None to answer 500 without a receipt.
    """

    def __init__(self, partner: Partner, our_signing_jwk: dict, answer=None, batches=True):
        self.partner = partner
        # Whether it takes several packets in one request (protocol 5.1) or answers 415.
        self.batches = batches
        self.batch_sizes: list[int] = []
        self.our_signing_jwk = our_signing_jwk
        self.answer = answer or (lambda claims: (200, "accepted", "applied"))
        self.received: list[dict] = []
        self.raw: list[str] = []

    def __enter__(self) -> PartnerServer:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                return None

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                if self.headers["Content-Type"] == "application/json":
                    if not server_self.batches:
                        return self.reply(415, b'{"code": "unsupported_media_type"}')
                    server_self.batch_sizes.append(len(json.loads(body)["packets"]))
                    results = []
                    for sealed in json.loads(body)["packets"]:
                        status, answer = server_self.take(sealed)
                        results.append({**(answer or {}), "http_status": status})
                    return self.reply(200, json.dumps({"results": results}).encode())
                status, answer = server_self.take(body)
                self.reply(status, json.dumps(answer).encode() if answer else b"boom")

            def reply(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/relay/inbox/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()

    def take(self, sealed: str) -> tuple[int, dict | None]:
        self.raw.append(sealed)
        claims = self.open(sealed)
        self.received.append(claims)
        decided = self.answer(claims)
        if decided is None:
            return 500, None
        status, receipt_status, code = decided
        receipt = self.partner.receipt(
            pid=claims["pid"], sealed=sealed, status=receipt_status, code=code
        )
        return status, {"receipt": receipt, "code": code}

    def open(self, sealed: str) -> dict:
        opened = jwe.decrypt_compact(
            sealed, self.partner.enc, algorithms=["ECDH-ES+A256KW", "A256GCM"]
        )
        public = OKPKey.import_key({n: self.our_signing_jwk[n] for n in ("kty", "crv", "x")})
        verified = jws.deserialize_compact(opened.plaintext, public, algorithms=["Ed25519"])
        return json.loads(verified.payload)
