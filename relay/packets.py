"""The packet format: claims, JSON schemas, sealing (sign then encrypt), opening, receipts.

A packet is a compact JWS (alg Ed25519, RFC 9864) signed by the sending agency, whose payload is
the JSON claims, nested as the plaintext of a compact JWE (ECDH-ES+A256KW, A256GCM, X25519) for
the receiving agency. docs/protocol.md is the specification; this module implements it with
joserfc and an explicit algorithm allow-list everywhere.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import jsonschema_rs
from joserfc import jwe, jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from ulid import ULID

PROTOCOL_VERSION = 1
JWS_ALGORITHMS = ["Ed25519"]
JWE_ALG = "ECDH-ES+A256KW"
JWE_ENC = "A256GCM"
JWE_ALGORITHMS = [JWE_ALG, JWE_ENC]
PACKET_JWS_TYP = "odr-packet+jws"
PACKET_JWE_TYP = "odr-packet+jwe"
RECEIPT_TYP = "odr-receipt+jws"
CONTENT_TYPE = "application/jose"
# Several packets in one request (protocol 5.1): {"packets": [compact JWE, ...]}.
BATCH_CONTENT_TYPE = "application/json"
# Only these header parameters are allowed: anything else (jwk, jku, x5u, crit, zip, b64…) could
# let a packet choose its own key or change how it is processed.
JWS_HEADERS = frozenset({"alg", "kid", "typ", "cty"})
JWE_HEADERS = frozenset({"alg", "enc", "kid", "epk", "typ", "cty", "apu", "apv"})
CLOCK_SKEW_SECONDS = 300

PACKET_TYPES = (
    "dispute.forward",
    "dispute.message",
    "dispute.document",
    "dispute.status",
    "dispute.outcome",
    "partner.ping",
    "partner.keys",
)
DISPUTE_TYPES = frozenset(t for t in PACKET_TYPES if t.startswith("dispute."))
SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"

# Every refusal: code -> (HTTP status, meaning). The codes are the protocol's, never renamed.
REFUSALS: dict[str, tuple[int, str]] = {
    "packet_too_large": (413, "The packet is larger than the receiver accepts."),
    "unsupported_media_type": (415, "The request body is not application/jose."),
    "malformed": (400, "Not a compact JWE, or its protected header is not JSON."),
    "bad_algorithm": (400, "JWE alg/enc or JWS alg is not the one the protocol allows."),
    "bad_header": (400, "A header parameter is missing or forbidden (jwk, jku, x5u, crit, zip…)."),
    "bad_key": (400, "The ephemeral key is not an X25519 public key."),
    "unknown_recipient_key": (400, "The JWE kid is not a valid encryption key of the receiver."),
    "decrypt_failed": (400, "The JWE does not decrypt (tampered, or for another key)."),
    "unknown_key": (401, "The JWS kid is not a pinned signing key of any agency."),
    "key_not_valid": (401, "The signing key is expired, revoked or not yet valid."),
    "bad_signature": (401, "The JWS signature does not verify."),
    "bad_claims": (400, "The signed payload is not a valid claims object."),
    "sender_mismatch": (401, "iss is not the agency that owns the signing key."),
    "wrong_recipient": (403, "aud is not the agency of this node."),
    "no_active_mou": (403, "No active MoU between sender and receiver."),
    "mou_mismatch": (403, "The mou claim is not the MoU in force between the two."),
    "not_party": (403, "The dispute here is not shared between these two agencies under it."),
    "out_of_scope": (403, "The dispute is outside the MoU's scope (category, claim value)."),
    "expired": (400, "exp is in the past."),
    "issued_in_future": (400, "iat is in the future (beyond the allowed clock skew)."),
    "sequence_conflict": (409, "seq was already used by another packet of this dispute."),
    "schema_invalid": (422, "The body does not match the schema of its type."),
    "file_hash_mismatch": (422, "A file's content does not match its sha256 or size."),
    "domain_rejected": (409, "The case on this node does not allow the change."),
    "receiver_not_ready": (503, "The receiver has no keys yet."),
    "internal_error": (500, "The receiver failed; try again."),
}
# Accepted outcomes: applied now, or stored until the packets before it arrive.
ACCEPTED = {"applied": 200, "waiting": 202}
# Refusals a sender should keep retrying (until its deadline): they can clear by themselves.
RETRYABLE_REFUSALS = frozenset({"unknown_key", "receiver_not_ready", "internal_error"})


class PacketRefused(Exception):
    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.http_status = REFUSALS[code][0]


def new_pid() -> str:
    return str(ULID())


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("ascii")
    return hashlib.sha256(data).hexdigest()


def b64decode_segment(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def canonical_json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def from_epoch(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, tz=dt.UTC)


# --- schemas ----------------------------------------------------------------------------------


def _schema(name: str) -> dict:
    return json.loads((SCHEMAS_DIR / f"{name}.v1.json").read_text())


@functools.cache
def schema_validator(name: str) -> jsonschema.Draft202012Validator:
    """The reference implementation: it explains a value the fast check refused."""
    schema = _schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@functools.cache
def fast_validator(name: str):
    """The check of every packet and receipt: jsonschema-rs, compiled once per process, about
    twenty times faster than walking the schema in Python."""
    return jsonschema_rs.validator_for(_schema(name), validate_formats=True)


def schema_errors(name: str, value) -> list[str]:
    """Why ``value`` does not match the named schema, one line per problem; empty if it does."""
    fast = fast_validator(name)
    if fast.is_valid(value):
        return []
    errors = sorted(schema_validator(name).iter_errors(value), key=lambda e: list(e.path))
    if not errors:
        # The two implementations read a format differently: the stricter one's reasons stand.
        errors = list(fast.iter_errors(value))
    return [f"{_where(error)}: {error.message}" for error in errors]


def _where(error) -> str:
    path = error.path if hasattr(error, "path") else error.instance_path
    return "/".join(map(str, path)) or "(root)"


def validate_body(packet_type: str, body: dict) -> None:
    if packet_type not in PACKET_TYPES:
        raise PacketRefused("schema_invalid", f"unknown packet type {packet_type!r}")
    problems = schema_errors(packet_type, body)
    if problems:
        raise PacketRefused("schema_invalid", "; ".join(problems[:5])[:1900])


def file_content(file: dict) -> bytes:
    """A file's bytes from its packet form, checked against its sha256 and size."""
    try:
        content = base64.b64decode(file["content_base64"], validate=True)
    except (binascii.Error, ValueError) as error:
        raise PacketRefused("file_hash_mismatch", f"{file.get('name')}: not base64") from error
    if len(content) != file["size"] or hashlib.sha256(content).hexdigest() != file["sha256"]:
        raise PacketRefused("file_hash_mismatch", f"{file.get('name')}: sha256 or size differs")
    return content


def file_form(*, name, content: bytes, content_type, uploaded_by, uploaded_at) -> dict:
    return {
        "name": name,
        "content_type": content_type,
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "uploaded_by": uploaded_by,
        "uploaded_at": uploaded_at.isoformat(),
        "content_base64": base64.b64encode(content).decode("ascii"),
    }


# --- sealing and opening ----------------------------------------------------------------------


def seal(claims: dict, signing_key: OKPKey, recipient_enc_jwk: dict) -> str:
    """Sign the claims with our key, then encrypt the JWS to the recipient's public key."""
    signed = jws.serialize_compact(
        {"alg": "Ed25519", "kid": signing_key.kid, "typ": PACKET_JWS_TYP},
        canonical_json(claims),
        signing_key,
        algorithms=JWS_ALGORITHMS,
    )
    recipient = OKPKey.import_key(
        {name: recipient_enc_jwk[name] for name in ("kty", "crv", "x")},
        parameters={"kid": recipient_enc_jwk["kid"], "use": "enc"},
    )
    return jwe.encrypt_compact(
        {
            "alg": JWE_ALG,
            "enc": JWE_ENC,
            "kid": recipient_enc_jwk["kid"],
            "typ": PACKET_JWE_TYP,
            "cty": PACKET_JWS_TYP,
        },
        signed,
        recipient,
        algorithms=JWE_ALGORITHMS,
    )


def _protected_header(compact: str, parts: int) -> dict:
    segments = compact.split(".")
    if len(segments) != parts:
        raise PacketRefused("malformed", f"expected {parts} dot-separated parts")
    try:
        header = json.loads(b64decode_segment(segments[0]))
    except (ValueError, binascii.Error) as error:
        raise PacketRefused("malformed", "the protected header is not base64url JSON") from error
    if not isinstance(header, dict):
        raise PacketRefused("malformed", "the protected header is not a JSON object")
    return header


def jwe_header(raw: bytes) -> dict:
    """Check the outer JWE's header before any key is touched."""
    try:
        compact = raw.decode("ascii").strip()
    except UnicodeDecodeError as error:
        raise PacketRefused("malformed", "not ASCII") from error
    header = _protected_header(compact, 5)
    if header.get("alg") != JWE_ALG or header.get("enc") != JWE_ENC:
        raise PacketRefused(
            "bad_algorithm",
            f"JWE alg/enc must be {JWE_ALG}/{JWE_ENC}, not {header.get('alg')}/{header.get('enc')}",
        )
    unexpected = set(header) - JWE_HEADERS
    if unexpected:
        raise PacketRefused("bad_header", f"header parameters not allowed: {sorted(unexpected)}")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise PacketRefused("bad_header", "the JWE needs the kid of the recipient's key")
    epk = header.get("epk")
    if not isinstance(epk, dict) or epk.get("kty") != "OKP" or epk.get("crv") != "X25519":
        raise PacketRefused("bad_key", "epk must be an OKP X25519 public key")
    if "d" in epk or not isinstance(epk.get("x"), str):
        raise PacketRefused("bad_key", "epk must be a public key with x")
    return header


def decrypt(raw: bytes, private_key: OKPKey) -> str:
    """The inner compact JWS, or PacketRefused(decrypt_failed)."""
    try:
        opened = jwe.decrypt_compact(raw, private_key, algorithms=JWE_ALGORITHMS)
        plaintext = opened.plaintext
        return plaintext.decode("ascii") if plaintext is not None else ""
    except (JoseError, ValueError, TypeError, UnicodeDecodeError) as error:
        raise PacketRefused("decrypt_failed", type(error).__name__) from error


def jws_header(signed: str) -> dict:
    header = _protected_header(signed, 3)
    if header.get("alg") != "Ed25519":
        raise PacketRefused("bad_algorithm", f"JWS alg must be Ed25519, not {header.get('alg')!r}")
    unexpected = set(header) - JWS_HEADERS
    if unexpected:
        raise PacketRefused("bad_header", f"header parameters not allowed: {sorted(unexpected)}")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise PacketRefused("bad_header", "the JWS needs the kid of the sender's signing key")
    return header


def verify(signed: str, public_jwk: dict) -> bytes:
    """The verified payload, or PacketRefused(bad_signature)."""
    try:
        key = OKPKey.import_key({name: public_jwk[name] for name in ("kty", "crv", "x")})
        obj = jws.deserialize_compact(signed, key, algorithms=JWS_ALGORITHMS)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise PacketRefused("bad_signature", type(error).__name__) from error
    return obj.payload


def parse_claims(payload: bytes) -> dict:
    try:
        claims = json.loads(payload)
    except ValueError as error:
        raise PacketRefused("bad_claims", "the payload is not JSON") from error
    problems = schema_errors("envelope", claims)
    if problems:
        raise PacketRefused("bad_claims", "; ".join(problems[:5]))
    if claims["type"] in DISPUTE_TYPES and (claims["dispute"] is None or claims["seq"] is None):
        raise PacketRefused("bad_claims", "dispute packets need dispute and seq")
    if claims["type"] not in DISPUTE_TYPES and (claims["dispute"] or claims["seq"]):
        raise PacketRefused("bad_claims", "partner packets carry no dispute and no seq")
    return claims


# --- receipts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    compact: str
    claims: dict


def sign_receipt(
    signing_key: OKPKey,
    *,
    issuer: str,
    audience: str | None,
    pid: str | None,
    raw_sha256: str,
    status: str,
    code: str,
    detail: str = "",
    at: dt.datetime,
) -> Receipt:
    claims = {
        "odr": PROTOCOL_VERSION,
        "kind": "receipt",
        "pid": pid,
        "sha256": raw_sha256,
        "status": status,
        "code": code,
        "iss": issuer,
        "aud": audience,
        "at": epoch(at),
    }
    if detail:
        claims["detail"] = detail[:2000]
    compact = jws.serialize_compact(
        {"alg": "Ed25519", "kid": signing_key.kid, "typ": RECEIPT_TYP},
        canonical_json(claims),
        signing_key,
        algorithms=JWS_ALGORITHMS,
    )
    return Receipt(compact, claims)


def read_receipt(compact: str, signer_keys: dict[str, dict]) -> dict:
    """Verify a receipt against the receiver's pinned signing keys (by kid); return its claims."""
    if not isinstance(compact, str):
        raise PacketRefused("malformed", "the receipt is not a string")
    header = jws_header(compact)
    jwk = signer_keys.get(header["kid"])
    if jwk is None:
        raise PacketRefused("unknown_key", f"receipt signed with unknown key {header['kid']!r}")
    try:
        claims = json.loads(verify(compact, jwk))
    except ValueError as error:
        raise PacketRefused("bad_claims", "the receipt payload is not JSON") from error
    problems = schema_errors("receipt", claims)
    if problems:
        raise PacketRefused("bad_claims", "; ".join(problems[:3]))
    return claims


def decode_receipt_claims(compact: str) -> dict:
    """The claims of a receipt without checking it (for display; read_receipt verifies)."""
    return json.loads(base64.urlsafe_b64decode(compact.split(".")[1] + "=="))
