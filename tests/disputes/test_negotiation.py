"""The merchant takes part: invitation, answers, proposals, performance, receipt, rating, clock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from agencies.models import Country, DomesticBody
from disputes import services
from disputes.models import Dispute, Merchant, Message, Rating, Receipt, Status, TimelineEvent
from disputes.services import Actor
from odr.errors import IllegalTransition, InvalidInput, NotAllowed
from tests.factories import active_mou, file_dispute

KCA = Actor.agency("KR-KCA", name="Kim Minji")
CONSUMER = Actor.consumer("Dewi Lestari")
MERCHANT = services.merchant_actor("Seoul Gadget Store")


def accepted_by_partner(**overrides) -> Dispute:
    dispute = file_dispute(**overrides)
    mou = active_mou()
    Dispute.objects.filter(pk=dispute.pk).update(
        status=Status.ACCEPTED_BY_PARTNER,
        mou=mou,
        partner_agency=mou.partner_of(dispute.home_agency),
    )
    return Dispute.objects.get(pk=dispute.pk)


def shop(**overrides) -> Merchant:
    fields = dict(
        name="Seoul Gadget Store",
        contact_email="cs@seoulgadget.example.kr",
        language="ko",
        country=Country.objects.get(code="KR"),
        website="https://www.SeoulGadget.example.kr/shop?id=1",
    )
    fields.update(overrides)
    return services.record_merchant(**fields)


def invited(**overrides) -> Dispute:
    return services.invite_merchant(accepted_by_partner(**overrides), actor=KCA, merchant=shop())


def in_a_week() -> dt.date:
    return timezone.now().date() + dt.timedelta(days=7)


def test_a_merchant_is_recorded_once_and_reused_whatever_the_address_looks_like(seeded):
    first = shop()
    again = shop(website="seoulgadget.example.kr", contact_email="help@seoulgadget.example.kr")
    assert again.pk == first.pk
    assert again.key == "web:seoulgadget.example.kr"
    assert again.contact_email == "help@seoulgadget.example.kr"
    on_marketplace = shop(website="", marketplace="Coupang", shop_id="A-1001")
    assert on_marketplace.key == "shop:coupang:a-1001"
    assert Merchant.objects.count() == 2
    dispute = file_dispute(merchant_website="http://seoulgadget.example.kr/")
    assert services.known_merchant_for(dispute) == first


def test_a_merchant_needs_an_address_or_a_shop(seeded):
    with pytest.raises(InvalidInput) as raised:
        shop(website="not a domain")
    assert raised.value.code == "bad_domain"
    with pytest.raises(InvalidInput):
        shop(website="", marketplace="Coupang")
    assert not Merchant.objects.exists()


def test_the_invitation_starts_the_reply_clock_and_a_resend_keeps_it(seeded):
    dispute = invited()
    assert dispute.status == Status.MERCHANT_CONTACTED
    assert dispute.merchant.name == "Seoul Gadget Store"
    assert dispute.merchant_link_version == 1
    calendar_days = (dispute.merchant_reply_due_on - timezone.now().date()).days
    assert 7 <= calendar_days <= 15  # 7 working days on KCA's calendar
    due = dispute.merchant_reply_due_on

    again = services.invite_merchant(dispute, actor=KCA, merchant=dispute.merchant)
    assert again.merchant_link_version == 2
    assert again.merchant_reply_due_on == due
    events = again.timeline.filter(data__event="merchant_invited")
    assert events.count() == 2 and not events.filter(visible_to_consumer=True).exists()


def test_the_home_agency_cannot_invite_when_the_mou_gives_the_merchant_to_the_partner(seeded):
    dispute = accepted_by_partner()
    with pytest.raises(NotAllowed):
        services.invite_merchant(dispute, actor=Actor.agency("ID-BPKN"), merchant=shop())
    dispute.refresh_from_db()
    assert dispute.status == Status.ACCEPTED_BY_PARTNER and dispute.merchant_link_version == 0


def test_the_merchant_answers_proposes_a_refund_and_the_case_settles_on_those_terms(seeded):
    dispute = invited()
    message = services.merchant_answer(
        dispute, actor=MERCHANT, text="배송 지연에 대해 사과드립니다.", language="ko"
    )
    assert message.author_kind == Message.Author.MERCHANT
    dispute.refresh_from_db()
    assert dispute.status == Status.NEGOTIATION
    assert dispute.merchant_replied_at is not None

    dispute = services.merchant_propose(
        dispute,
        actor=MERCHANT,
        remedy="refund",
        amount="1250000",
        currency="idr",
        perform_by=in_a_week(),
        text="전액 환불해 드리겠습니다.",
        language="ko",
    )
    proposed = dispute.timeline.get(data__event="settlement_proposed")
    assert proposed.actor == TimelineEvent.Actor.MERCHANT
    assert proposed.data["remedy"] == "refund" and proposed.data["currency"] == "IDR"

    dispute = services.accept_settlement(dispute, actor=CONSUMER)
    assert dispute.status == Status.SETTLED
    assert (dispute.settlement_amount, dispute.settlement_currency) == (Decimal("1250000"), "IDR")
    assert dispute.settlement_remedy == "refund" and dispute.settlement_due_on == in_a_week()

    dispute = services.confirm_performance(
        dispute, actor=MERCHANT, performed_on=timezone.now().date(), note="Paid.", language="en"
    )
    assert dispute.settlement_performed_on == timezone.now().date()
    with pytest.raises(IllegalTransition):
        services.confirm_performance(
            dispute, actor=MERCHANT, performed_on=timezone.now().date(), language="en"
        )
    dispute = services.confirm_receipt(dispute, actor=CONSUMER, received=True, language="id")
    assert dispute.consumer_receipt == Receipt.RECEIVED

    services.rate_dispute(dispute, actor=CONSUMER, aspect="result", score=5, language="id")
    services.rate_dispute(
        dispute, actor=CONSUMER, aspect="handling", score=4, comment="Cepat.", language="id"
    )
    with pytest.raises(IllegalTransition) as raised:
        services.rate_dispute(dispute, actor=CONSUMER, aspect="result", score=1, language="id")
    assert raised.value.code == "already_rated"
    assert sorted(Rating.objects.values_list("aspect", "score")) == [
        ("handling", 4),
        ("result", 5),
    ]
    from disputes.selectors import rating_summary

    summary = rating_summary()
    assert (summary["result"]["count"], summary["result"]["average"]) == (1, 5.0)
    assert summary["handling"]["scores"] == {1: 0, 2: 0, 3: 0, 4: 1, 5: 0}


def test_the_consumer_may_say_the_refund_did_not_arrive_and_then_that_it_did(seeded):
    dispute = services.accept_requested_remedy(
        invited(), actor=MERCHANT, perform_by=in_a_week(), language="ko"
    )
    assert dispute.status == Status.SETTLED
    assert dispute.settlement_amount == dispute.amount and dispute.settlement_remedy == "refund"
    dispute = services.confirm_receipt(dispute, actor=CONSUMER, received=False, language="id")
    assert dispute.consumer_receipt == Receipt.NOT_RECEIVED
    dispute = services.confirm_receipt(dispute, actor=CONSUMER, received=True, language="id")
    assert dispute.consumer_receipt == Receipt.RECEIVED
    with pytest.raises(IllegalTransition):
        services.confirm_receipt(dispute, actor=CONSUMER, received=False, language="id")


def test_a_declined_claim_goes_to_mediation_where_the_agency_proposes_terms(seeded):
    dispute = services.merchant_decline(
        invited(), actor=MERCHANT, reasons="상품은 배송되었습니다.", language="ko"
    )
    assert dispute.status == Status.MEDIATION
    dispute = services.propose_settlement(
        dispute,
        actor=KCA,
        remedy="refund",
        amount="600000",
        currency="IDR",
        perform_by=in_a_week(),
        proposal="Half refund as a compromise.",
        language="en",
    )
    dispute = services.reject_settlement(dispute, actor=CONSUMER, reason="Tidak cukup.")
    assert dispute.status == Status.MEDIATION and not dispute.settlement_proposal
    body = DomesticBody.objects.filter(handles_adjudication=True, country__code="KR").first()
    dispute = services.refer_to_adjudication(dispute, actor=KCA, body=body)
    assert dispute.status == Status.REFERRED_TO_ADJUDICATION


def test_only_the_merchant_acts_as_the_merchant(seeded):
    dispute = invited()
    for actor in (CONSUMER, KCA):
        with pytest.raises(NotAllowed):
            services.merchant_answer(dispute, actor=actor, text="Hello", language="en")
    assert not dispute.messages.exists()


BAD_PROPOSALS = [
    ({"amount": "-5"}, "amount_not_positive"),
    ({"amount": "0"}, "amount_not_positive"),
    ({"amount": "99999999999999"}, "amount_absurd"),
    ({"amount": "125000000"}, "amount_absurd"),  # a hundred times the claim
    ({"amount": "12.345"}, "amount_invalid"),
    ({"amount": "lots"}, "amount_invalid"),
    ({"currency": "XYZ"}, "unknown_currency"),
    ({"currency": ""}, "unknown_currency"),
    ({"perform_by": None}, "perform_by_required"),
    ({"perform_by": dt.date(2020, 1, 1)}, "perform_by_in_past"),
    ({"perform_by": dt.date(2099, 1, 1)}, "perform_by_too_late"),
    ({"text": "x" * 5001}, "text_too_long"),
    ({"remedy": "money"}, "remedy_invalid"),
]


@pytest.mark.parametrize(("change", "code"), BAD_PROPOSALS, ids=[c for _x, c in BAD_PROPOSALS])
def test_a_bad_proposal_is_refused_and_changes_nothing(seeded, change, code):
    dispute = invited()
    events = dispute.timeline.count()
    fields = dict(
        actor=MERCHANT,
        remedy="refund",
        amount="1250000",
        currency="IDR",
        perform_by=in_a_week(),
        text="전액 환불",
        language="ko",
    )
    fields.update(change)
    with pytest.raises(InvalidInput) as raised:
        services.merchant_propose(dispute, **fields)
    assert raised.value.code == code
    dispute.refresh_from_db()
    assert dispute.status == Status.MERCHANT_CONTACTED
    assert not dispute.settlement_proposal and dispute.merchant_replied_at is None
    assert dispute.timeline.count() == events


def test_an_oversized_answer_is_refused(seeded):
    dispute = invited()
    with pytest.raises(InvalidInput) as raised:
        services.merchant_answer(dispute, actor=MERCHANT, text="가" * 5001, language="ko")
    assert raised.value.code == "text_too_long"
    dispute.refresh_from_db()
    assert dispute.status == Status.MERCHANT_CONTACTED and not dispute.messages.exists()


def test_no_proposal_after_the_case_closed(seeded):
    dispute = invited()
    services.withdraw_dispute(dispute, actor=CONSUMER)
    with pytest.raises(IllegalTransition):
        services.merchant_propose(
            dispute,
            actor=MERCHANT,
            remedy="refund",
            amount="10",
            currency="IDR",
            perform_by=in_a_week(),
            text="",
            language="ko",
        )
    dispute.refresh_from_db()
    assert dispute.status == Status.WITHDRAWN and not dispute.settlement_proposal


def test_a_case_is_rated_only_after_its_outcome(seeded):
    dispute = invited()
    with pytest.raises(IllegalTransition):
        services.rate_dispute(dispute, actor=CONSUMER, aspect="result", score=3, language="id")
    with pytest.raises(InvalidInput):
        services.rate_dispute(dispute, actor=CONSUMER, aspect="result", score=6, language="id")
    assert not Rating.objects.exists()


# --- the reply clock, on a frozen clock ------------------------------------------------------


def at_noon_seoul(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(3, 0), tzinfo=dt.UTC)


def test_the_clock_reminds_once_then_records_silence_once(seeded):
    dispute = invited()
    due = dispute.merchant_reply_due_on
    assert services.run_merchant_clock(at_noon_seoul(dispute.merchant_invited_at.date())) == (
        0,
        0,
    )
    two_days_before = due - dt.timedelta(days=2)
    while not services.remind_merchant(
        Dispute.objects.get(pk=dispute.pk), at_noon_seoul(two_days_before)
    ):
        two_days_before += dt.timedelta(days=1)
        assert two_days_before <= due
    # Every later run (this beat or another) finds the reminder sent.
    assert services.run_merchant_clock(at_noon_seoul(due)) == (0, 0)
    assert dispute.timeline.filter(data__event="merchant_reminded").count() == 1

    after = at_noon_seoul(due + dt.timedelta(days=1))
    assert services.run_merchant_clock(after) == (0, 1)
    assert services.run_merchant_clock(after) == (0, 0)
    dispute.refresh_from_db()
    assert dispute.status == Status.MEDIATION
    silence = dispute.timeline.get(data__transition="record_merchant_silence")
    assert silence.actor == TimelineEvent.Actor.SYSTEM and silence.to_status == Status.MEDIATION


def test_an_answer_stops_the_clock(seeded):
    dispute = invited()
    services.merchant_answer(dispute, actor=MERCHANT, text="확인 중입니다.", language="ko")
    late = at_noon_seoul(dispute.merchant_reply_due_on + dt.timedelta(days=3))
    assert services.run_merchant_clock(late) == (0, 0)
    dispute.refresh_from_db()
    assert dispute.status == Status.NEGOTIATION


def test_the_merchant_on_record_regroups_the_dispute_in_the_merchant_watch(seeded):
    dispute = accepted_by_partner(merchant_website="https://www.tokopedia.com/")
    assert dispute.merchant_key == "web:tokopedia.com"  # the marketplace, as far as it tells
    on_marketplace = shop(website="", marketplace="Coupang", shop_id="A-1001")
    services.invite_merchant(dispute, actor=KCA, merchant=on_marketplace)
    dispute.refresh_from_db()
    assert dispute.merchant_key == "shop:coupang:a-1001"
