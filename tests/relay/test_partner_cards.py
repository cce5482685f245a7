"""A node publishes its partner card; an administrator imports a partner's card, compares the RFC
7638 thumbprints out of band and confirms the partner. A bad card stores nothing."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from joserfc.jwk import OKPKey

from agencies.models import Agency, AgencyKey, Country, MoU
from agencies.services import change_mou_status, create_mou
from relay import cards
from relay.packets import schema_errors


def new_key(code: str, use: str, **extra) -> dict:
    curve = {"sig": "Ed25519", "enc": "X25519"}[use]
    key = OKPKey.generate_key(
        curve, parameters={"kid": f"{code}-{use}-1", "use": use}, private=True
    )
    public = {**key.as_dict(private=False), "use": use}
    return {
        **{name: public[name] for name in ("kty", "crv", "x", "kid", "use")},
        "not_before": "2026-12-01T00:00:00Z",
        "not_after": None,
        "thumbprint": cards.thumbprint(public),
        **extra,
    }


def malaysia_card(code: str = "MY-NCCC") -> dict:
    return {
        "card": "odr-partner-card/1",
        "issued_at": "2026-12-06T09:00:00Z",
        "agency": {
            "code": code,
            "reference_prefix": "NCCC",
            "short_name": "NCCC",
            "name": "National Consumer Complaints Centre",
            "names": {"en": "National Consumer Complaints Centre", "id": "Pusat Pengaduan"},
        },
        "country": {"code": "MY", "name": "Malaysia", "currency": "MYR"},
        "languages": ["ms", "en"],
        "time_zone": "Asia/Kuala_Lumpur",
        "working_week": [1, 2, 3, 4, 5],
        "contact": {"email": "aduan@nccc.example", "phone": "+60 3 7877 9000"},
        "relay": {"inbox_url": "https://odr.nccc.example/relay/inbox/", "protocol_versions": [1]},
        "keys": [new_key(code, "sig"), new_key(code, "enc")],
    }


def refused(card, code: str):
    with pytest.raises(cards.CardRefused) as raised:
        cards.import_partner_card(json.dumps(card) if isinstance(card, dict) else card)
    assert raised.value.code == code, raised.value.message
    assert not Agency.objects.filter(code="MY-NCCC").exists()
    assert not AgencyKey.objects.filter(kid__startswith="MY-NCCC").exists()
    return raised.value.message


# --- export -------------------------------------------------------------------------------------


def test_the_node_publishes_its_card_with_its_keys_and_thumbprints(client, node):
    response = client.get("/.well-known/odr-partner.json")
    assert response.status_code == 200
    card = response.json()
    assert schema_errors("partner.card", card) == []
    assert card["agency"]["code"] == "ID-BPKN"
    assert card["country"]["code"] == "ID"
    assert card["time_zone"] == "Asia/Jakarta"
    assert card["relay"]["protocol_versions"] == [1]
    assert card["relay"]["inbox_url"].endswith("/relay/inbox/")
    uses = sorted(key["use"] for key in card["keys"])
    assert uses == ["enc", "sig"]
    jwks = client.get("/.well-known/jwks.json").json()
    assert {key["kid"] for key in card["keys"]} == {key["kid"] for key in jwks["keys"]}
    for key in card["keys"]:
        assert key["thumbprint"] == OKPKey.import_key(key).thumbprint()
        assert "d" not in key


def test_the_command_exports_the_same_card(node, tmp_path, capsys):
    out = tmp_path / "bpkn.json"
    call_command("export_partner_card", "--output", str(out))
    card = json.loads(out.read_text())
    assert card["agency"]["code"] == "ID-BPKN"
    assert "thumbprint" in capsys.readouterr().err


def test_during_a_rotation_the_card_shows_both_keys_then_only_the_new(node):
    from django.utils import timezone

    from relay.partners import rotate_node_keys

    before = {key["kid"] for key in cards.own_card()["keys"]}
    rotate_node_keys(grace_seconds=300)
    during = cards.own_card()["keys"]
    assert before < {key["kid"] for key in during} and len(during) == 4
    assert all(key["not_after"] for key in during if key["kid"] in before)
    later = cards.partner_card(node, at=timezone.now() + dt.timedelta(seconds=301))
    after = {key["kid"] for key in later["keys"]}
    assert before.isdisjoint(after) and len(after) == 2


# --- import -------------------------------------------------------------------------------------


def test_an_imported_card_makes_a_prospective_partner_with_pinned_keys(node):
    card = malaysia_card()
    imported = cards.import_partner_card(json.dumps(card))
    agency = imported.agency
    assert agency.code == "MY-NCCC"
    assert agency.status == Agency.Status.PROSPECTIVE
    assert agency.inbox_url == "https://odr.nccc.example/relay/inbox/"
    assert agency.languages == ["ms", "en"]
    assert Country.objects.get(code="MY").timezone == "Asia/Kuala_Lumpur"
    assert {(use, kid) for use, kid, _ in imported.thumbprints} == {
        ("sig", "MY-NCCC-sig-1"),
        ("enc", "MY-NCCC-enc-1"),
    }
    for use, _kid, value in imported.thumbprints:
        given = next(key for key in card["keys"] if key["use"] == use)
        assert value == OKPKey.import_key(given).thumbprint()
    assert AgencyKey.objects.filter(agency=agency).count() == 2


def test_a_partner_is_confirmed_only_once_and_then_its_mou_can_activate(node, seeded):
    agency = cards.import_partner_card(malaysia_card()).agency
    mou = create_mou(
        first=seeded["ID-BPKN"],
        second=agency,
        reference="MOU-BPKN-NCCC-2026",
        title="BPKN–NCCC",
        signed_on=dt.date(2026, 12, 1),
        effective_from=dt.date(2026, 12, 1),
    )
    with pytest.raises(cards.DomainError) as raised:
        change_mou_status(mou, MoU.Status.ACTIVE)
    assert raised.value.code == "partner_not_confirmed"

    cards.confirm_partner(agency)
    agency.refresh_from_db()
    assert agency.status == Agency.Status.ACTIVE
    with pytest.raises(cards.DomainError):
        cards.confirm_partner(agency)
    assert change_mou_status(mou, MoU.Status.ACTIVE).status == MoU.Status.ACTIVE


def test_the_import_and_confirm_commands(node, tmp_path):
    path = tmp_path / "nccc.json"
    path.write_text(json.dumps(malaysia_card()))
    from io import StringIO

    out = StringIO()
    call_command("import_partner_card", str(path), stdout=out)
    text = out.getvalue()
    assert "stored MY-NCCC" in text and "prospective" in text
    thumb = cards.grouped(cards.key_thumbprints(Agency.objects.get(code="MY-NCCC"))[0][2])
    assert thumb in text
    out = StringIO()
    call_command("confirm_partner", "MY-NCCC", stdout=out)
    assert "confirmed MY-NCCC" in out.getvalue()
    with pytest.raises(CommandError, match="duplicate_agency"):
        call_command("import_partner_card", str(path))


def test_a_card_fetched_from_the_partners_url(node, live_server, settings):
    # Our own node's card, as a partner would fetch it, is refused as our own.
    with pytest.raises(CommandError, match="own_card"):
        call_command("import_partner_card", f"{live_server.url}/.well-known/odr-partner.json")


# --- every bad card -----------------------------------------------------------------------------


def test_not_json(node):
    assert "not JSON" in refused(b"{nope", "invalid_card")


def test_not_an_object(node):
    refused(b"[1, 2]", "invalid_card")


def test_too_large(node):
    refused(b" " * (cards.MAX_CARD_BYTES + 1), "card_too_large")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda card: card.pop("keys"), "keys"),
        (lambda card: card["agency"].update(code="nccc"), "agency/code"),
        (lambda card: card.update(card="odr-partner-card/2"), "card"),
        (lambda card: card.update(working_week=[0, 8]), "working_week"),
        (lambda card: card["contact"].update(email="not an address"), "contact/email"),
        (lambda card: card["keys"][0].update(x="short"), "keys/0/x"),
        (lambda card: card["keys"][0].update(kty="RSA"), "keys/0/kty"),
        (lambda card: card.update(extra=True), "(root)"),
        (lambda card: card["relay"].update(inbox_url="ftp://x"), "relay/inbox_url"),
    ],
)
def test_a_card_against_the_schema(node, change, where):
    card = malaysia_card()
    change(card)
    assert where in refused(card, "card_schema_invalid")


def test_private_key_material(node):
    card = malaysia_card()
    card["keys"][0]["d"] = "A" * 43
    message = refused(card, "private_key_material")
    assert "MY-NCCC-sig-1" in message


def test_wrong_curve_for_the_use(node):
    card = malaysia_card()
    card["keys"][0]["crv"] = "X25519"  # a sig key on the encryption curve
    assert "Ed25519" in refused(card, "wrong_curve")


def test_a_thumbprint_that_is_not_the_keys_own(node):
    card = malaysia_card()
    card["keys"][0]["thumbprint"] = card["keys"][1]["thumbprint"]
    refused(card, "kid_mismatch")


def test_the_same_kid_twice(node):
    card = malaysia_card()
    card["keys"][1]["kid"] = card["keys"][0]["kid"]
    refused(card, "kid_mismatch")


def test_a_kid_already_pinned_to_another_agency(node, kca):
    card = malaysia_card()
    card["keys"][0]["kid"] = kca.sig.kid
    assert "KR-KCA" in refused(card, "kid_mismatch")


def test_duplicate_agency_code(node):
    cards.import_partner_card(malaysia_card())
    with pytest.raises(cards.CardRefused) as raised:
        cards.import_partner_card(malaysia_card())
    assert raised.value.code == "duplicate_agency"
    assert AgencyKey.objects.filter(agency__code="MY-NCCC").count() == 2


def test_an_existing_agency_code(node):
    card = malaysia_card("KR-KCA")
    card["country"]["code"] = "KR"
    card["agency"]["reference_prefix"] = "NEWKCA"
    with pytest.raises(cards.CardRefused) as raised:
        cards.import_partner_card(card)
    assert raised.value.code == "duplicate_agency"


def test_our_own_card(node):
    with pytest.raises(cards.CardRefused) as raised:
        cards.import_partner_card(cards.own_card())
    assert raised.value.code == "own_card"


def test_a_code_outside_its_country(node):
    card = malaysia_card()
    card["country"]["code"] = "SG"
    refused(card, "card_schema_invalid")


def test_no_protocol_version_in_common(node):
    card = malaysia_card()
    card["relay"]["protocol_versions"] = [2]
    refused(card, "protocol_version")


def test_a_plain_http_inbox_where_https_is_required(node, settings):
    settings.ODR_RELAY_ALLOW_HTTP = False
    card = malaysia_card()
    card["relay"]["inbox_url"] = "http://odr.nccc.example/relay/inbox/"
    refused(card, "insecure_inbox")


def test_no_encryption_key(node):
    card = malaysia_card()
    card["keys"][1] = new_key("MY-NCCC", "sig", kid="MY-NCCC-sig-2")
    refused(card, "missing_key")


def test_only_expired_keys(node):
    card = malaysia_card()
    for key in card["keys"]:
        key["not_after"] = "2026-12-02T00:00:00Z"
    refused(card, "missing_key")


def test_a_key_that_expires_before_it_starts(node):
    card = malaysia_card()
    card["keys"][0]["not_after"] = "2026-11-01T00:00:00Z"
    refused(card, "card_schema_invalid")


def test_a_good_card_follows_the_schema(node):
    card = copy.deepcopy(malaysia_card())
    assert schema_errors("partner.card", card) == []
