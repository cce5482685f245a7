"""Each action on the detail page calls its service and moves the dispute; illegal moves don't."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from disputes.models import Dispute, TimelineEvent
from tests.factories import SupervisorFactory, file_dispute
from tests.staff import login


def act(client, dispute, action, data=None):
    return client.post(reverse("casework:act", args=[dispute.reference, action]), data or {})


def status_after(client, dispute, action, data=None) -> str:
    response = act(client, dispute, action, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == reverse("casework:detail", args=[dispute.reference])
    dispute.refresh_from_db()
    return dispute.status


@pytest.fixture
def dispute(seeded):
    return file_dispute()


def test_home_triage_clarification_and_forwarding(caseworker_client, dispute):
    assert status_after(caseworker_client, dispute, "start_review") == "under_review"
    question = {"question": "Please send the receipt.", "language": "en"}
    assert (
        status_after(caseworker_client, dispute, "request_clarification", question)
        == "clarification_requested"
    )
    answer = {"answer": "Struk terlampir lewat WhatsApp.", "language": "id"}
    assert (
        status_after(caseworker_client, dispute, "provide_clarification", answer) == "under_review"
    )
    assert status_after(caseworker_client, dispute, "forward") == "forwarded"
    assert dispute.partner_agency.code == "KR-KCA"
    asked = dispute.timeline.get(to_status="clarification_requested")
    assert (asked.text, asked.language) == ("Please send the receipt.", "en")


def test_the_detail_page_offers_only_what_our_side_may_do_now(caseworker_client, dispute):
    page = caseworker_client.get(reverse("casework:detail", args=[dispute.reference]))
    actions = set(
        action
        for action in page.content.decode().split('data-action="')[1:]
        for action in [action.split('"')[0]]
    )
    assert actions == {"start_review", "withdraw"}


def test_referring_out_of_scope_then_closing(caseworker_client, dispute):
    from agencies.models import DomesticBody

    status_after(caseworker_client, dispute, "start_review")
    body = DomesticBody.objects.get(code="id-bpsk-jakarta")
    data = {"body": body.pk, "reason": "Merchant is local.", "language": "en"}
    # A caseworker's referral waits for a supervisor, who approves it.
    assert status_after(caseworker_client, dispute, "refer_out_of_scope", data) == "under_review"
    page = caseworker_client.get(reverse("casework:detail", args=[dispute.reference]))
    assert "A supervisor will approve or decline it." in page.content.decode()
    login(caseworker_client, SupervisorFactory())
    decided = caseworker_client.post(
        reverse("casework:decide_referral", args=[dispute.reference]), {"decision": "approve"}
    )
    assert decided.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == "out_of_scope"
    assert dispute.referred_to == body
    assert dispute.timeline.get(to_status="out_of_scope").text == "Merchant is local."
    assert status_after(caseworker_client, dispute, "close", {"language": "en"}) == "closed"


def test_partner_accepts_works_the_case_and_home_closes(
    caseworker_client, dispute, at_partner_node
):
    status_after(caseworker_client, dispute, "start_review")
    status_after(caseworker_client, dispute, "forward")
    at_partner_node("KR-KCA")
    assert status_after(caseworker_client, dispute, "accept_forwarded") == "accepted_by_partner"
    note = {"note": "판매자에게 이메일을 보냈습니다.", "language": "ko"}
    assert status_after(caseworker_client, dispute, "contact_merchant", note) == (
        "merchant_contacted"
    )
    assert status_after(caseworker_client, dispute, "start_negotiation", {"language": "en"}) == (
        "negotiation"
    )
    offer = {
        "remedy": "refund",
        "proposal": "Full refund",
        "amount": "85.50",
        "currency": "usd",
        "perform_by": (timezone.now().date() + dt.timedelta(days=14)).isoformat(),
        "language": "en",
    }
    assert status_after(caseworker_client, dispute, "propose_settlement", offer) == "negotiation"
    assert dispute.settlement_proposal == "Full refund"
    assert dispute.settlement_currency == "USD"
    assert dispute.settlement_remedy == "refund"
    assert status_after(caseworker_client, dispute, "start_mediation", {"language": "en"}) == (
        "mediation"
    )
    terms = {
        "summary": "Refund of 85.50 USD",
        "remedy": "refund",
        "amount": "85.50",
        "currency": "USD",
        "language": "en",
    }
    # A remedy needs its date; without it nothing changes.
    refused = act(caseworker_client, dispute, "record_settlement", terms)
    assert refused.status_code == 400
    dispute.refresh_from_db()
    assert dispute.status == "mediation"
    terms["perform_by"] = (timezone.now().date() + dt.timedelta(days=7)).isoformat()
    assert status_after(caseworker_client, dispute, "record_settlement", terms) == "settled"
    assert str(dispute.settlement_due_on) == terms["perform_by"]
    at_partner_node("ID-BPKN")
    assert status_after(caseworker_client, dispute, "close", {"language": "id"}) == "closed"
    who = dispute.timeline.get(to_status="accepted_by_partner")
    assert who.actor == TimelineEvent.Actor.PARTNER_AGENCY


def test_partner_returns_the_case_to_home(caseworker_client, dispute, at_partner_node):
    status_after(caseworker_client, dispute, "start_review")
    status_after(caseworker_client, dispute, "forward")
    at_partner_node("KR-KCA")
    data = {"reason": "Merchant is in Japan.", "language": "en"}
    assert status_after(caseworker_client, dispute, "return_to_home", data) == "under_review"


def test_no_settlement_then_adjudication(caseworker_client, dispute, at_partner_node):
    from agencies.models import DomesticBody

    status_after(caseworker_client, dispute, "start_review")
    status_after(caseworker_client, dispute, "forward")
    at_partner_node("KR-KCA")
    status_after(caseworker_client, dispute, "accept_forwarded")
    status_after(caseworker_client, dispute, "contact_merchant", {"language": "en"})
    data = {"summary": "The merchant refused.", "language": "en"}
    assert status_after(caseworker_client, dispute, "record_no_settlement", data) == "not_settled"
    body = DomesticBody.objects.get(code="kr-cdsc")
    data = {"body": body.pk, "reason": "", "language": "en"}
    assert (
        status_after(caseworker_client, dispute, "refer_to_adjudication", data)
        == "referred_to_adjudication"
    )
    assert dispute.referred_to == body


def test_withdrawing_on_the_consumers_behalf(caseworker_client, dispute):
    data = {"reason": "Consumer phoned: the parcel arrived.", "language": "en"}
    assert status_after(caseworker_client, dispute, "withdraw", data) == "withdrawn"


def test_an_illegal_action_shows_why_and_changes_nothing(caseworker_client, dispute):
    events = dispute.timeline.count()
    response = act(caseworker_client, dispute, "close", {"language": "en"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "cannot be moved by" in page
    assert 'role="alert"' in page
    dispute.refresh_from_db()
    assert dispute.status == "submitted"
    assert dispute.timeline.count() == events


def test_a_partner_only_action_is_refused_at_home(caseworker_client, dispute):
    status_after(caseworker_client, dispute, "start_review")
    status_after(caseworker_client, dispute, "forward")
    response = act(caseworker_client, dispute, "accept_forwarded")
    assert response.status_code == 403
    assert "You may not" in response.content.decode()
    dispute.refresh_from_db()
    assert dispute.status == "forwarded"


def test_a_missing_reason_is_shown_next_to_the_field(caseworker_client, dispute):
    status_after(caseworker_client, dispute, "start_review")
    response = act(caseworker_client, dispute, "request_clarification", {"language": "en"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_request_clarification_question_error"' in page
    assert "This field is required." in page
    assert Dispute.objects.get(pk=dispute.pk).status == "under_review"


def test_forwarding_problems_are_shown_before_the_button(caseworker_client, seeded):
    # BPKN's MoU with the UK ICC is still a draft: the caseworker must see why it cannot go.
    dispute = file_dispute(merchant_country="GB", currency="GBP", amount="40")
    status_after(caseworker_client, dispute, "start_review")
    page = caseworker_client.get(reverse("casework:detail", args=[dispute.reference]))
    html = page.content.decode()
    assert "This dispute cannot be forwarded" in html
    assert "There is no active MoU with an agency in that country." in html
    response = act(caseworker_client, dispute, "forward")
    assert response.status_code == 409
    dispute.refresh_from_db()
    assert dispute.status == "under_review"


def test_posting_a_message_to_the_partner_only(caseworker_client, dispute):
    url = reverse("casework:post_message", args=[dispute.reference])
    response = caseworker_client.post(url, {"body": "Internal note for KCA.", "language": "en"})
    assert response.status_code == 302
    message = dispute.messages.get()
    assert (message.body, message.visible_to_consumer, message.author_kind) == (
        "Internal note for KCA.",
        False,
        "home_agency",
    )
    page = caseworker_client.get(reverse("casework:detail", args=[dispute.reference]))
    assert "Internal note for KCA." in page.content.decode()
    assert "Agencies only" in page.content.decode()


def test_an_empty_message_is_refused(caseworker_client, dispute):
    url = reverse("casework:post_message", args=[dispute.reference])
    response = caseworker_client.post(url, {"body": "", "language": "en"})
    assert response.status_code == 400
    assert 'id="id_message_body_error"' in response.content.decode()
    assert not dispute.messages.exists()


def test_a_supervisor_declines_a_referral_and_nothing_changes(caseworker_client, dispute):
    from agencies.models import DomesticBody
    from casework.models import ReferralRequest

    status_after(caseworker_client, dispute, "start_review")
    body = DomesticBody.objects.get(code="id-bpsk-jakarta")
    data = {"body": body.pk, "reason": "Merchant is local.", "language": "en"}
    act(caseworker_client, dispute, "refer_out_of_scope", data)
    # Only a supervisor decides.
    url = reverse("casework:decide_referral", args=[dispute.reference])
    assert caseworker_client.post(url, {"decision": "approve"}).status_code == 403
    login(caseworker_client, SupervisorFactory())
    caseworker_client.post(url, {"decision": "decline"})
    dispute.refresh_from_db()
    assert dispute.status == "under_review"
    assert ReferralRequest.objects.get(dispute=dispute).approved is False
