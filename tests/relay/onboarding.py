"""A partner onboarded through its card (Malaysia's NCCC, an agency the seed does not know), as
the tests of the onboarding flow use it: its private keys, its card imported and confirmed here,
and a draft MoU with BPKN."""

from __future__ import annotations

import datetime as dt

from joserfc.jwk import OKPKey

from agencies.models import Agency, MoU
from agencies.services import create_mou
from relay import cards
from tests.relay.partner import Partner

REFERENCE = "MOU-BPKN-NCCC-2026"


def card_for(code: str, sig: OKPKey, enc: OKPKey, inbox_url: str) -> dict:
    keys = []
    for key in (sig, enc):
        use = "sig" if key is sig else "enc"
        public = {**key.as_dict(private=False), "use": use}
        keys.append(
            {
                **{name: public[name] for name in ("kty", "crv", "x", "kid", "use")},
                "not_before": "2026-01-01T00:00:00Z",
                "not_after": None,
                "thumbprint": cards.thumbprint(public),
            }
        )
    return {
        "card": "odr-partner-card/1",
        "issued_at": "2026-12-06T09:00:00Z",
        "agency": {
            "code": code,
            "reference_prefix": code.split("-")[1],
            "short_name": code.split("-")[1],
            "name": "National Consumer Complaints Centre",
        },
        "country": {"code": code[:2], "name": "Malaysia", "currency": "MYR"},
        "languages": ["ms", "en"],
        "time_zone": "Asia/Kuala_Lumpur",
        "working_week": [1, 2, 3, 4, 5],
        "contact": {"email": "aduan@nccc.example"},
        "relay": {"inbox_url": inbox_url, "protocol_versions": [1]},
        "keys": keys,
    }


class OnboardedPartner(Partner):
    """A Partner whose agency came from its card, under the draft MoU REFERENCE."""

    def __init__(self, code: str = "MY-NCCC", *, inbox_url="https://odr.nccc.example/relay/inbox/"):
        self.code = code
        self.sig = OKPKey.generate_key(
            "Ed25519", parameters={"kid": f"{code}-sig-1", "use": "sig"}, private=True
        )
        self.enc = OKPKey.generate_key(
            "X25519", parameters={"kid": f"{code}-enc-1", "use": "enc"}, private=True
        )
        imported = cards.import_partner_card(card_for(code, self.sig, self.enc, inbox_url))
        self.agency = cards.confirm_partner(imported.agency)
        self.mou = create_mou(
            first=Agency.objects.get(code="ID-BPKN"),
            second=self.agency,
            reference=REFERENCE,
            title="BPKN–NCCC cooperation",
            signed_on=dt.date(2026, 12, 1),
            effective_from=dt.date(2026, 12, 1),
            languages=["en"],
            partner_stages=[MoU.Stage.MERCHANT_CONTACT],
        )
        self.next_seq = {}

    def claims(self, packet_type, body, **claims):
        claims.setdefault("mou", REFERENCE)
        return super().claims(packet_type, body, **claims)
