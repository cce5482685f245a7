"""What the merchant does through their pages, and bad input refused in the merchant's language."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from disputes import services
from disputes.models import Evidence, Status
from disputes.services import Actor
from merchants.models import MerchantNotice
from tests.portal.conftest import PDF

pytestmark = pytest.mark.django_db


def soon() -> str:
    return (timezone.now().date() + dt.timedelta(days=10)).isoformat()


def test_the_merchant_answers_adds_a_document_and_proposes_a_refund(merchant_client, invited):
    dispute, _link = invited
    answered = merchant_client.post("/merchant/case/answer/", {"text": "확인 후 환불하겠습니다."})
    assert answered.status_code == 302
    assert "답변을 보냈습니다." in merchant_client.get(answered["Location"]).content.decode()
    upload = SimpleUploadedFile("송장.pdf", PDF, content_type="application/pdf")
    assert merchant_client.post("/merchant/case/document/", {"file": upload}).status_code == 302
    proposal = {
        "remedy": "refund",
        "amount": "1250000",
        "currency": "IDR",
        "perform_by": soon(),
        "text": "전액 환불",
    }
    assert merchant_client.post("/merchant/case/propose/", proposal).status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == Status.NEGOTIATION
    assert dispute.messages.get().language == "ko"
    assert dispute.evidence.get().uploaded_by == Evidence.UploadedBy.MERCHANT
    assert dispute.settlement_proposal == "전액 환불" and dispute.settlement_remedy == "refund"
    page = merchant_client.get("/merchant/case/").content.decode()
    assert "확인 후 환불하겠습니다." in page and "송장.pdf" in page
    assert "제안이 고객의 답변을 기다리고 있습니다" in page


BAD = [
    ({"amount": "-5"}, "금액은 0보다 커야 합니다."),
    ({"amount": "99999999999999"}, "청구 금액보다 훨씬 많습니다"),
    ({"currency": "XYZ"}, "XYZ은(는) 통화 코드가 아닙니다"),
    ({"text": "가" * 5001}, "최대 5000자까지"),
]


@pytest.mark.parametrize(("change", "error"), BAD, ids=["negative", "absurd", "currency", "long"])
def test_bad_input_is_refused_in_the_merchants_language_and_changes_nothing(
    merchant_client, invited, change, error
):
    dispute, _link = invited
    proposal = {
        "remedy": "refund",
        "amount": "1250000",
        "currency": "IDR",
        "perform_by": soon(),
        "text": "환불",
    }
    proposal.update(change)
    response = merchant_client.post("/merchant/case/propose/", proposal)
    assert response.status_code == 400
    assert error in response.content.decode()
    dispute.refresh_from_db()
    assert dispute.status == Status.MERCHANT_CONTACTED
    assert not dispute.settlement_proposal and dispute.merchant_replied_at is None


def test_an_oversized_answer_is_refused(merchant_client, invited):
    dispute, _link = invited
    response = merchant_client.post("/merchant/case/answer/", {"text": "x" * 5001})
    assert response.status_code == 400
    assert "최대 5000자까지" in response.content.decode()
    assert not dispute.messages.exists()


def test_no_proposal_once_the_case_is_closed(merchant_client, invited):
    dispute, _link = invited
    services.withdraw_dispute(dispute, actor=Actor.consumer())
    proposal = {"remedy": "refund", "amount": "10", "currency": "IDR", "perform_by": soon()}
    response = merchant_client.post("/merchant/case/propose/", proposal)
    assert response.status_code == 400
    assert "더 이상 판매자의 답변을 받지 않습니다" in response.content.decode()
    dispute.refresh_from_db()
    assert dispute.status == Status.WITHDRAWN and not dispute.settlement_proposal


def test_accepting_the_request_settles_and_the_merchant_confirms_payment(merchant_client, invited):
    dispute, _link = invited
    response = merchant_client.post("/merchant/case/accept/", {"perform_by": soon()})
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == Status.SETTLED and dispute.settlement_amount == dispute.amount
    paid = {"performed_on": timezone.now().date().isoformat(), "note": "KB 송금 123"}
    assert merchant_client.post("/merchant/case/performed/", paid).status_code == 302
    dispute.refresh_from_db()
    assert dispute.settlement_performed_on == timezone.now().date()
    page = merchant_client.get("/merchant/case/").content.decode()
    assert 'data-testid="settlement"' in page and 'data-testid="form-answer"' not in page


def test_declining_sends_the_case_to_mediation(merchant_client, invited):
    dispute, _link = invited
    response = merchant_client.post("/merchant/case/decline/", {"reasons": "이미 배송됨"})
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == Status.MEDIATION


def test_the_partner_caseworker_invites_resends_and_revokes(
    client, caseworker, seeded, settings, mailoutbox
):
    from tests.merchants.conftest import accepted

    dispute = accepted()
    settings.ODR_NODE = "KR-KCA"
    client.force_login(caseworker)
    page = client.get(f"/casework/disputes/{dispute.reference}/").content.decode()
    assert "id_invite_contact_email" in page
    data = {
        "name": "Seoul Gadget Store",
        "contact_email": "cs@seoulgadget.example.kr",
        "language": "ko",
        "website": "https://seoulgadget.example.kr",
    }
    with_commit = client.post(f"/casework/disputes/{dispute.reference}/merchant/", data)
    assert with_commit.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == Status.MERCHANT_CONTACTED and dispute.merchant_link_version == 1
    notice = MerchantNotice.objects.get(dispute=dispute)
    assert (notice.kind, notice.language, notice.email) == (
        "invitation",
        "ko",
        "cs@seoulgadget.example.kr",
    )
    assert client.post(f"/casework/disputes/{dispute.reference}/merchant/", data).status_code == 302
    assert client.post(f"/casework/disputes/{dispute.reference}/merchant/revoke/").status_code == (
        302
    )
    dispute.refresh_from_db()
    assert dispute.merchant_link_version == 3
    assert MerchantNotice.objects.filter(dispute=dispute).count() == 2


def test_a_bad_merchant_contact_is_refused_and_nothing_is_sent(
    client, caseworker, seeded, settings
):
    from tests.merchants.conftest import accepted

    dispute = accepted()
    settings.ODR_NODE = "KR-KCA"
    client.force_login(caseworker)
    data = {"name": "Shop", "contact_email": "cs@shop.kr", "language": "ko", "website": "nope"}
    response = client.post(f"/casework/disputes/{dispute.reference}/merchant/", data)
    assert response.status_code == 400
    dispute.refresh_from_db()
    assert dispute.status == Status.ACCEPTED_BY_PARTNER and not MerchantNotice.objects.exists()


def test_the_partner_translates_the_account_and_the_merchant_reads_it_beside_the_original(
    client, caseworker, seeded, settings, mailoutbox
):
    from tests.merchants.conftest import accepted, emailed_link, invite

    dispute = invite(accepted())
    settings.ODR_NODE = "KR-KCA"
    client.force_login(caseworker)
    url = f"/casework/disputes/{dispute.reference}/account/translations/"
    same = client.post(url, {"account-language": "id", "account-body": "Sama"})
    assert same.status_code == 400 and not dispute.account_translations.exists()
    korean = "헤드폰 대금을 지불했지만 물건이 배송되지 않았습니다."
    saved = client.post(url, {"account-language": "ko", "account-body": korean})
    assert saved.status_code == 302
    client.logout()

    merchant = Client()
    merchant.get(emailed_link(mailoutbox, dispute))
    page = merchant.get("/merchant/case/").content.decode()
    assert dispute.consumer_account in page and korean in page
