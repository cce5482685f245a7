from __future__ import annotations

import re

import pytest

from agencies.models import Country
from disputes import services
from disputes.models import Dispute, Status
from disputes.services import Actor
from merchants import services as notices
from merchants.models import MerchantNotice
from tests.factories import active_mou, file_dispute

KCA = Actor.agency("KR-KCA", name="Kim Minji")


def invite(dispute: Dispute, **merchant) -> Dispute:
    fields = dict(
        name="Seoul Gadget Store",
        contact_email="cs@seoulgadget.example.kr",
        language="ko",
        country=Country.objects.get(code="KR"),
        website="seoulgadget.example.kr",
    )
    fields.update(merchant)
    shop = services.record_merchant(**fields)
    return services.invite_merchant(dispute, actor=KCA, merchant=shop)


def accepted(**overrides) -> Dispute:
    dispute = file_dispute(**overrides)
    mou = active_mou()
    Dispute.objects.filter(pk=dispute.pk).update(
        status=Status.ACCEPTED_BY_PARTNER,
        mou=mou,
        partner_agency=mou.partner_of(dispute.home_agency),
    )
    return Dispute.objects.get(pk=dispute.pk)


def emailed_link(mailoutbox, dispute: Dispute) -> str:
    """Send the dispute's latest notice and return the path of the link in the email."""
    notice = MerchantNotice.objects.filter(dispute=dispute).order_by("-pk").first()
    assert notices.send_notice(notice.pk) == "sent"
    body = mailoutbox[-1].body
    return re.search(r"https?://[^/\s]+(/merchant/\?t=\S+)", body).group(1)


@pytest.fixture
def invited(seeded, mailoutbox):
    dispute = invite(accepted())
    return dispute, emailed_link(mailoutbox, dispute)


@pytest.fixture
def merchant_client(client, invited):
    """A browser that opened the merchant's link."""
    _dispute, link = invited
    assert client.get(link).status_code == 302
    return client
