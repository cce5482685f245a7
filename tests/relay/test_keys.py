"""This node's keys: created once, private files only for us, public halves published and pinned;
partners' keys pinned at onboarding; rotation with a grace period announced to partners."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from agencies.models import AgencyKey
from relay import keys as node_keys
from relay.inbox import receive_packet
from relay.models import OutboundPacket
from tests.relay.partner import Partner, PartnerServer, our_key

pytestmark = pytest.mark.django_db


def test_init_creates_an_ed25519_and_an_x25519_key_once(settings, tmp_path, seeded, capsys):
    settings.ODR_KEYS_DIR = tmp_path / "keys"
    call_command("node_keys", "init")
    call_command("node_keys", "init")

    mine = AgencyKey.objects.filter(agency__code="ID-BPKN").order_by("use")
    assert [(k.use, k.public_jwk["crv"]) for k in mine] == [("enc", "X25519"), ("sig", "Ed25519")]
    for key in mine:
        assert re.fullmatch(r"ID-BPKN-(sig|enc)-\d{8}-[0-9a-f]{4}", key.kid)
        assert "d" not in key.public_jwk
        path = tmp_path / "keys" / f"{key.kid}.jwk.json"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert "d" in json.loads(path.read_text())
    assert len(list((tmp_path / "keys").iterdir())) == 2


def test_keys_can_come_from_the_environment(settings, tmp_path, seeded, monkeypatch):
    settings.ODR_KEYS_DIR = tmp_path / "empty"
    sig = node_keys.generate("sig")
    enc = node_keys.generate("enc")
    monkeypatch.setenv("ODR_SIGNING_JWK", json.dumps(sig.as_dict(private=True)))
    monkeypatch.setenv("ODR_ENCRYPTION_JWK", json.dumps(enc.as_dict(private=True)))
    call_command("node_keys", "init")
    assert set(AgencyKey.objects.filter(agency__code="ID-BPKN").values_list("kid", flat=True)) == {
        sig.kid,
        enc.kid,
    }
    assert not (tmp_path / "empty").exists()
    assert node_keys.current_key("sig").kid == sig.kid


def test_export_prints_the_same_public_key_set_as_the_well_known_url(client, node, capsys):
    call_command("node_keys", "export")
    exported = json.loads(capsys.readouterr().out)
    published = client.get("/.well-known/jwks.json")
    assert published.status_code == 200
    assert published.json() == exported
    assert reverse("relay:jwks") == "/.well-known/jwks.json"
    assert {key["use"] for key in exported["keys"]} == {"sig", "enc"}
    assert all("d" not in key for key in exported["keys"])


def test_pin_partner_keys_from_a_file(node, tmp_path, capsys):
    partner = Partner("KR-KCA", pin=False)
    jwks = {
        "keys": [
            {**partner.sig.as_dict(private=False), "use": "sig"},
            {**partner.enc.as_dict(private=False), "use": "enc"},
        ]
    }
    path = tmp_path / "kca.jwks.json"
    path.write_text(json.dumps(jwks))
    call_command("pin_partner_keys", "KR-KCA", "--file", str(path))
    pinned = set(AgencyKey.objects.filter(agency__code="KR-KCA").values_list("kid", flat=True))
    assert pinned == {partner.sig.kid, partner.enc.kid}


def test_pin_partner_keys_from_a_url(node, capsys):
    partner = Partner("KR-KCA", pin=False)
    body = json.dumps({"keys": [{**partner.sig.as_dict(private=False), "use": "sig"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            return None

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
        call_command("pin_partner_keys", "KR-KCA", "--url", url)
    finally:
        server.shutdown()
        server.server_close()
    assert AgencyKey.objects.filter(kid=partner.sig.kid, agency__code="KR-KCA").exists()


def test_pinning_a_private_key_is_refused(node, tmp_path):
    partner = Partner("KR-KCA", pin=False)
    path = tmp_path / "leak.json"
    path.write_text(json.dumps({"keys": [{**partner.sig.as_dict(private=True), "use": "sig"}]}))
    with pytest.raises(CommandError, match="Only public keys"):
        call_command("pin_partner_keys", "KR-KCA", "--file", str(path))


def test_rotation_keeps_old_keys_for_a_grace_period_and_tells_partners(node, kca, settings):
    settings.ODR_KEY_GRACE_SECONDS = 3600
    old_sig, old_enc = our_key("sig"), our_key("enc")
    call_command("node_keys", "rotate")

    new_sig, new_enc = our_key("sig"), our_key("enc")
    assert new_sig.kid != old_sig.kid and new_enc.kid != old_enc.kid
    old_sig.refresh_from_db()
    now = timezone.now()
    assert old_sig.is_valid_at(now)
    assert not old_sig.is_valid_at(now + dt.timedelta(hours=2))
    assert node_keys.current_key("sig").kid == new_sig.kid

    # A partner.keys packet to KCA (active MoU), none to UK ICC (draft MoU), signed with the
    # old key that KCA already trusts.
    [packet] = OutboundPacket.objects.filter(type="partner.keys")
    assert packet.recipient.code == "KR-KCA"
    assert packet.signing_kid == old_sig.kid
    assert {key["kid"] for key in packet.body["keys"]} == {new_sig.kid, new_enc.kid}
    with PartnerServer(kca, old_sig.public_jwk) as partner:
        kca.agency.inbox_url = partner.url
        kca.agency.save()
        from relay.delivery import deliver

        assert deliver(packet.pk) == "acknowledged"
    assert partner.received[0]["type"] == "partner.keys"

    # Packets encrypted to the old key still open during the grace period.
    sealed = kca.packet("partner.ping", {"nonce": "abcdefgh", "sent_at": now.isoformat()})
    assert receive_packet(sealed, content_type="application/jose")[2] == "applied"


def test_a_partners_rotation_is_pinned_and_its_old_key_retired(client, kca, node):
    new = Partner("KR-KCA", pin=False)
    retire_at = timezone.now() + dt.timedelta(days=1)
    body = {
        "keys": [
            {**new.sig.as_dict(private=False), "use": "sig"},
            {**new.enc.as_dict(private=False), "use": "enc"},
        ],
        "retire": [{"kid": kca.sig.kid, "not_after": retire_at.isoformat()}],
    }
    response = client.post(
        reverse("relay:inbox"), kca.packet("partner.keys", body), content_type="application/jose"
    )
    assert response.json()["code"] == "applied"
    assert AgencyKey.objects.filter(kid=new.sig.kid, agency__code="KR-KCA").exists()
    assert AgencyKey.objects.get(kid=kca.sig.kid).not_after == retire_at
    # The new key is trusted from now on.
    new.enc = kca.enc
    response = client.post(
        reverse("relay:inbox"),
        new.packet("partner.ping", {"nonce": "abcdefgh", "sent_at": timezone.now().isoformat()}),
        content_type="application/jose",
    )
    assert response.json()["code"] == "applied"


def test_without_keys_the_inbox_says_it_is_not_ready(client, seeded, settings, tmp_path):
    settings.ODR_KEYS_DIR = tmp_path / "none"
    response = client.post(reverse("relay:inbox"), b"a.b.c.d.e", content_type="application/jose")
    assert response.status_code == 503
    assert response.json()["code"] == "receiver_not_ready"


def test_a_rotation_after_an_exposure_can_have_a_short_grace_period(node, kca):
    old_sig = our_key("sig")
    call_command("node_keys", "rotate", "--grace-seconds", "600")

    old_sig.refresh_from_db()
    now = timezone.now()
    assert old_sig.is_valid_at(now)
    assert not old_sig.is_valid_at(now + dt.timedelta(seconds=601))
    # The partner.keys packet, signed with the old key, is still deliverable within the grace.
    assert OutboundPacket.objects.get(type="partner.keys").signing_kid == old_sig.kid


def test_a_grace_period_too_short_to_tell_the_partners_is_refused(node, kca):
    old_sig = our_key("sig")
    with pytest.raises(CommandError, match="at least 300 seconds"):
        call_command("node_keys", "rotate", "--grace-seconds", "0")
    assert our_key("sig").kid == old_sig.kid
    assert not OutboundPacket.objects.filter(type="partner.keys").exists()


def test_a_revoked_partner_key_is_refused_at_once(client, kca, node):
    out = StringIO()
    call_command("revoke_key", kca.sig.kid, stdout=out)
    assert f"KR-KCA sig key {kca.sig.kid} revoked" in out.getvalue()

    sealed = kca.packet("partner.ping", {"nonce": "abcdefgh", "sent_at": "2026-11-25T00:00:00Z"})
    status, _receipt, code = receive_packet(sealed, content_type="application/jose")
    assert (status, code) == (401, "key_not_valid")


def test_revoking_an_unknown_key_says_so(node):
    with pytest.raises(CommandError, match="No pinned key"):
        call_command("revoke_key", "nobody-sig-0")
