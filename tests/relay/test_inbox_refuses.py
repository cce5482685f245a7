"""Attacks and mistakes at the inbox: each is refused with its stable code and HTTP status,
and nothing of it reaches the case."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from joserfc.jwk import OKPKey

from agencies.models import AgencyKey, Category, MoU
from agencies.services import change_mou_status
from disputes.models import Dispute, Status
from relay import packets
from relay.inbox import _refusal_counter
from relay.models import InboundPacket, InboxRefusal
from relay.packets import decode_receipt_claims
from tests.factories import file_dispute
from tests.relay.partner import Partner, file_form, forward_body, our_key, status_body

pytestmark = pytest.mark.django_db

REF = "KCA-2026-000042"


def post(client, sealed: bytes, content_type="application/jose"):
    return client.post(reverse("relay:inbox"), sealed, content_type=content_type)


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assert_refused(response, code: str, http_status: int):
    assert response.status_code == http_status, response.json()
    answer = response.json()
    assert (answer["status"], answer["code"]) == ("refused", code)
    # The refusal carries a receipt signed by this node.
    key = our_key("sig")
    claims = packets.read_receipt(answer["receipt"], {key.kid: key.public_jwk})
    assert (claims["status"], claims["code"]) == ("refused", code)
    assert (
        InboxRefusal.objects.filter(code=code).exists()
        or InboundPacket.objects.filter(code=code).exists()
    )


def assert_nothing_applied():
    assert not Dispute.objects.filter(reference=REF).exists()
    assert not InboundPacket.objects.filter(state="applied").exists()


def forward(kca, **claims):
    return kca.packet("dispute.forward", forward_body(), dispute=REF, **claims)


def test_tampered_ciphertext(client, kca):
    parts = forward(kca).decode().split(".")
    ciphertext = bytearray(packets.b64decode_segment(parts[3]))
    ciphertext[10] ^= 0x01
    parts[3] = b64(bytes(ciphertext))
    assert_refused(post(client, ".".join(parts).encode()), "decrypt_failed", 400)
    assert_nothing_applied()


def test_tampered_protected_header_fails_authentication(client, kca):
    parts = forward(kca).decode().split(".")
    header = json.loads(packets.b64decode_segment(parts[0]))
    header["typ"] = "something-else"
    parts[0] = b64(header)
    assert_refused(post(client, ".".join(parts).encode()), "decrypt_failed", 400)
    assert_nothing_applied()


def test_a_replayed_packet_gets_the_original_receipt_and_is_applied_once(client, kca):
    sealed = forward(kca)
    first = post(client, sealed)
    second = post(client, sealed)

    assert first.status_code == second.status_code == 200
    assert second.json()["receipt"] == first.json()["receipt"]
    assert Dispute.objects.filter(reference=REF).count() == 1
    assert InboundPacket.objects.count() == 1
    assert Dispute.objects.get(reference=REF).timeline.filter(kind="packet").count() == 1


def test_the_same_packet_sealed_again_is_still_a_replay(client, kca):
    claims = kca.claims("dispute.forward", forward_body(), dispute=REF)
    first = post(client, kca.encrypt(kca.sign(claims)))
    again = post(client, kca.encrypt(kca.sign(claims)))  # fresh JWE, same packet id
    assert again.json()["receipt"] == first.json()["receipt"]
    assert InboundPacket.objects.count() == 1


def test_signed_by_an_agency_without_an_active_mou(client, ukicc):
    sealed = ukicc.packet(
        "dispute.forward",
        forward_body(reference="UKICC-2026-000001", home_agency="GB-UKICC"),
        dispute="UKICC-2026-000001",
        mou="MOU-BPKN-UKICC-DRAFT",
    )
    assert_refused(post(client, sealed), "no_active_mou", 403)
    assert not Dispute.objects.filter(reference="UKICC-2026-000001").exists()


def test_signed_by_a_key_nobody_pinned(client, node):
    stranger = Partner("KR-KCA", pin=False)
    assert_refused(post(client, forward(stranger)), "unknown_key", 401)
    assert_nothing_applied()


def test_signed_by_one_agency_claiming_to_be_another(client, kca, ukicc):
    sealed = kca.encrypt(
        kca.sign(
            ukicc.claims("partner.ping", {"nonce": "12345678", "sent_at": "2026-11-25T00:00:00Z"})
        )
    )
    assert_refused(post(client, sealed), "sender_mismatch", 401)


@pytest.mark.parametrize("change", ["expired", "revoked", "not_yet_valid"])
def test_signed_with_a_key_that_is_no_longer_or_not_yet_valid(client, kca, change):
    key = AgencyKey.objects.get(kid=kca.sig.kid)
    now = timezone.now()
    if change == "expired":
        key.not_after = now - dt.timedelta(minutes=1)
    elif change == "revoked":
        key.revoked_at = now - dt.timedelta(minutes=1)
    else:
        key.not_before = now + dt.timedelta(days=1)
    key.save()
    assert_refused(post(client, forward(kca)), "key_not_valid", 401)
    assert_nothing_applied()


def test_a_partner_forwarding_a_dispute_outside_the_mou_scope(client, kca):
    mou = MoU.objects.get(reference="MOU-BPKN-KCA-2021")
    mou.categories.set([Category.objects.get(code="electronics")])
    assert_refused(post(client, forward(kca)), "out_of_scope", 403)  # clothing
    assert_nothing_applied()


def test_a_partner_forwarding_a_claim_above_the_mou_maximum(client, kca):
    body = forward_body()
    body["purchase"]["amount"] = "99000000.00"  # KRW, far above USD 5,000
    assert_refused(
        post(client, kca.packet("dispute.forward", body, dispute=REF)), "out_of_scope", 403
    )
    assert_nothing_applied()


def test_a_partner_writing_on_a_dispute_it_does_not_share(client, kca):
    ours = file_dispute()  # a BPKN case never forwarded to KCA
    sealed = kca.packet("dispute.status", status_body("withdraw"), dispute=ours.reference)
    assert_refused(post(client, sealed), "not_party", 403)
    ours.refresh_from_db()
    assert ours.status == Status.SUBMITTED


def test_a_partner_forwarding_another_agencys_dispute(client, kca):
    body = forward_body(reference="BPKN-2026-000777", home_agency="KR-KCA")
    sealed = kca.packet("dispute.forward", body, dispute="BPKN-2026-000777")
    assert_refused(post(client, sealed), "not_party", 403)


def test_under_a_suspended_mou(client, kca):
    change_mou_status(MoU.objects.get(reference="MOU-BPKN-KCA-2021"), MoU.Status.SUSPENDED)
    assert_refused(post(client, forward(kca)), "no_active_mou", 403)
    assert_nothing_applied()


def test_naming_another_mou(client, kca):
    assert_refused(post(client, forward(kca, mou="MOU-OTHER")), "mou_mismatch", 403)


@pytest.mark.parametrize("alg", ["EdDSA", "HS256", "ES256"])
def test_signature_algorithm_changed(client, kca, alg):
    signed = kca.sign(kca.claims("dispute.forward", forward_body(), dispute=REF))
    _header, payload, signature = signed.split(".")
    forged = ".".join([b64({"alg": alg, "kid": kca.sig.kid}), payload, signature])
    assert_refused(post(client, kca.encrypt(forged)), "bad_algorithm", 400)
    assert_nothing_applied()


def test_signature_algorithm_none(client, kca):
    claims = kca.claims("dispute.forward", forward_body(), dispute=REF)
    unsigned = ".".join([b64({"alg": "none", "kid": kca.sig.kid}), b64(claims), ""])
    assert_refused(post(client, kca.encrypt(unsigned)), "bad_algorithm", 400)
    assert_nothing_applied()


def test_a_signature_by_another_key_under_the_partners_kid(client, kca):
    forger = OKPKey.generate_key("Ed25519", parameters={"kid": kca.sig.kid}, private=True)
    claims = kca.claims("dispute.forward", forward_body(), dispute=REF)
    assert_refused(post(client, kca.encrypt(kca.sign(claims, key=forger))), "bad_signature", 401)
    assert_nothing_applied()


def test_a_key_embedded_in_the_header_is_not_trusted(client, kca):
    forger = OKPKey.generate_key("Ed25519", parameters={"kid": "mine"}, private=True)
    header = {"alg": "Ed25519", "kid": kca.sig.kid, "jwk": forger.as_dict(private=False)}
    claims = kca.claims("dispute.forward", forward_body(), dispute=REF)
    sealed = kca.encrypt(kca.sign(claims, header=header, key=forger))
    assert_refused(post(client, sealed), "bad_header", 400)
    assert_nothing_applied()


@pytest.mark.parametrize(
    ("alg", "enc"),
    [("dir", "A256GCM"), ("RSA-OAEP", "A256GCM"), ("ECDH-ES+A256KW", "A128CBC-HS256")],
)
def test_encryption_algorithm_changed(client, kca, alg, enc):
    parts = forward(kca).decode().split(".")
    header = json.loads(packets.b64decode_segment(parts[0]))
    parts[0] = b64({**header, "alg": alg, "enc": enc})
    assert_refused(post(client, ".".join(parts).encode()), "bad_algorithm", 400)


def test_unknown_kid(client, kca):
    claims = kca.claims("dispute.forward", forward_body(), dispute=REF)
    signed = kca.sign(claims, header={"alg": "Ed25519", "kid": "KR-KCA-sig-19990101-dead"})
    assert_refused(post(client, kca.encrypt(signed)), "unknown_key", 401)


def test_signing_kid_naming_an_encryption_key(client, kca):
    """A wrong-type key: the partner's X25519 key is never a signing key."""
    claims = kca.claims("dispute.forward", forward_body(), dispute=REF)
    signed = kca.sign(claims, header={"alg": "Ed25519", "kid": kca.enc.kid})
    assert_refused(post(client, kca.encrypt(signed)), "unknown_key", 401)


@pytest.mark.parametrize(
    "epk",
    [
        {
            "kty": "EC",
            "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        },
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {
            "kty": "OKP",
            "crv": "X448",
            "x": "mwj3zDG34-Z9ItWuoSEHSic70rg94Jxj-qc9LCLF2bvINmRyQdlT1AxbEtqIEg1TF3-A5TLEH6A",
        },
    ],
)
def test_an_ephemeral_key_on_another_curve(client, kca, epk):
    parts = forward(kca).decode().split(".")
    header = json.loads(packets.b64decode_segment(parts[0]))
    parts[0] = b64({**header, "epk": epk})
    assert_refused(post(client, ".".join(parts).encode()), "bad_key", 400)


def test_a_low_order_ephemeral_key(client, kca):
    parts = forward(kca).decode().split(".")
    header = json.loads(packets.b64decode_segment(parts[0]))
    parts[0] = b64({**header, "epk": {"kty": "OKP", "crv": "X25519", "x": b64(bytes(32))}})
    assert_refused(post(client, ".".join(parts).encode()), "decrypt_failed", 400)


def test_encrypted_to_a_key_this_node_does_not_hold(client, kca, ukicc):
    other = AgencyKey.objects.get(kid=ukicc.enc.kid)
    sealed = kca.encrypt(
        kca.sign(kca.claims("dispute.forward", forward_body(), dispute=REF)), to=other
    )
    assert_refused(post(client, sealed), "unknown_recipient_key", 400)


def test_a_body_that_fails_its_schema(client, kca):
    body = forward_body()
    del body["account"]
    response = post(client, kca.packet("dispute.forward", body, dispute=REF))
    assert_refused(response, "schema_invalid", 422)
    assert "account" in response.json()["detail"]
    assert_nothing_applied()


def test_an_unknown_packet_type(client, kca):
    sealed = kca.packet("dispute.teleport", {}, dispute=REF)
    assert_refused(post(client, sealed), "bad_claims", 400)


def test_a_file_whose_content_does_not_match_its_hash(client, kca):
    body = forward_body()
    body["evidence"] = [
        {**file_form(), "content_base64": base64.b64encode(b"%PDF-1.4 other").decode()}
    ]
    assert_refused(
        post(client, kca.packet("dispute.forward", body, dispute=REF)), "file_hash_mismatch", 422
    )
    assert_nothing_applied()


def test_an_oversized_packet(client, kca, settings):
    sealed = forward(kca)
    settings.ODR_MAX_PACKET_BYTES = len(sealed) - 1
    assert_refused(post(client, sealed), "packet_too_large", 413)
    assert_nothing_applied()


def test_an_oversized_packet_is_refused_before_its_body_is_read(client, kca, settings):
    settings.ODR_MAX_PACKET_BYTES = 100
    response = client.generic(
        "POST", reverse("relay:inbox"), b"x" * 101, content_type="application/jose"
    )
    assert_refused(response, "packet_too_large", 413)


def test_a_wrong_recipient(client, kca):
    assert_refused(post(client, forward(kca, aud="GB-UKICC")), "wrong_recipient", 403)
    assert_nothing_applied()


def test_an_expired_packet(client, kca):
    past = timezone.now() - dt.timedelta(days=8)
    sealed = forward(kca, iat=int(past.timestamp()), exp=int(past.timestamp()) + 3600)
    assert_refused(post(client, sealed), "expired", 400)
    assert_nothing_applied()


def test_a_packet_from_the_future(client, kca):
    future = int((timezone.now() + dt.timedelta(hours=1)).timestamp())
    assert_refused(post(client, forward(kca, iat=future, exp=future + 60)), "issued_in_future", 400)


def test_not_application_jose(client, kca):
    assert_refused(
        post(client, forward(kca), content_type="text/plain"), "unsupported_media_type", 415
    )


def test_not_a_jwe_at_all(client, node):
    assert_refused(post(client, b"hello.world"), "malformed", 400)


def test_claims_missing_a_field(client, kca):
    claims = kca.claims("dispute.forward", forward_body(), dispute=REF)
    del claims["exp"]
    assert_refused(post(client, kca.encrypt(kca.sign(claims))), "bad_claims", 400)


def test_a_sequence_number_used_by_another_packet(client, kca):
    assert (
        post(client, kca.packet("dispute.forward", forward_body(), dispute=REF, seq=1)).status_code
        == 200
    )
    sealed = kca.packet("dispute.status", status_body("withdraw"), dispute=REF, seq=1)
    assert_refused(post(client, sealed), "sequence_conflict", 409)
    assert Dispute.objects.get(reference=REF).status == Status.FORWARDED


def test_checks_run_in_the_protocol_order(client, kca, ukicc, settings):
    # Wrong recipient and expired and schema-invalid: the recipient check comes first.
    past = int((timezone.now() - dt.timedelta(days=9)).timestamp())
    sealed = kca.packet("dispute.forward", {}, dispute=REF, aud="GB-UKICC", iat=past, exp=past + 1)
    assert_refused(post(client, sealed), "wrong_recipient", 403)
    # Expired and schema-invalid: expiry comes before the body.
    sealed = kca.packet("dispute.forward", {}, dispute=REF, iat=past, exp=past + 1)
    assert_refused(post(client, sealed), "expired", 400)
    # A replay under a since-suspended MoU: the MoU is checked before replay.
    good = forward(kca, seq=1)
    assert post(client, good).status_code == 200
    change_mou_status(MoU.objects.get(reference="MOU-BPKN-KCA-2021"), MoU.Status.SUSPENDED)
    assert_refused(post(client, good), "no_active_mou", 403)
    # Too large and garbage: size comes first.
    settings.ODR_MAX_PACKET_BYTES = 10
    assert_refused(post(client, b"garbage.garbage.garbage"), "packet_too_large", 413)


def test_refusals_are_recorded_for_staff_with_what_could_be_trusted(client, kca, node):
    post(client, forward(kca, aud="GB-UKICC"))
    refusal = InboxRefusal.objects.get()
    assert refusal.authenticated is True
    assert (refusal.sender_code, refusal.dispute_reference) == ("KR-KCA", REF)
    assert decode_receipt_claims(refusal.receipt)["aud"] == "KR-KCA"


def test_a_forward_against_a_merchant_in_another_country(client, kca):
    body = forward_body()
    body["merchant"]["country"] = "GB"
    sealed = kca.packet("dispute.forward", body, dispute=REF)
    assert_refused(post(client, sealed), "out_of_scope", 403)
    assert_nothing_applied()


# --- an address that keeps sending packets nobody signed ---------------------------------------


def test_an_address_sending_unsigned_garbage_is_held_off_without_writing_anything(
    client, kca, node, settings
):
    settings.ODR_INBOX_REFUSALS_PER_MINUTE = 3
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    cache.delete(_refusal_counter("203.0.113.7"))
    for _ in range(3):
        response = client.post(
            reverse("relay:inbox"), b"garbage", content_type="application/jose", **attacker
        )
        assert response.status_code == 400
    assert InboxRefusal.objects.count() == 3

    held_off = client.post(
        reverse("relay:inbox"), b"garbage", content_type="application/jose", **attacker
    )
    assert held_off.status_code == 429
    assert held_off.json()["code"] == "rate_limited"
    assert held_off.json()["receipt"] is None
    assert int(held_off["Retry-After"]) > 0
    assert InboxRefusal.objects.count() == 3  # nothing more was opened or written

    # A partner at another address is not affected, and its packets never count.
    ping = kca.packet("partner.ping", {"nonce": "abcdefgh", "sent_at": "2026-11-25T00:00:00Z"})
    response = client.post(reverse("relay:inbox"), ping, content_type="application/jose")
    assert response.status_code == 200
    cache.delete(_refusal_counter("203.0.113.7"))


def test_a_partners_own_refused_packets_do_not_count_against_it(client, kca, node, settings):
    settings.ODR_INBOX_REFUSALS_PER_MINUTE = 1
    for n in range(3):
        # Signed by KCA but about a dispute KCA has no part in: refused after authentication.
        sealed = kca.packet("dispute.message", {"bad": "body"}, dispute=f"BPKN-2026-00009{n}")
        response = client.post(reverse("relay:inbox"), sealed, content_type="application/jose")
        assert response.status_code != 429
        assert response.json()["code"] != "rate_limited"
