"""Every transition of the lifecycle table, from every status, by the side that may and may not."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from agencies.models import DomesticBody
from disputes import services
from disputes.lifecycle import TRANSITIONS, allowed_sides
from disputes.models import Dispute, Status, TimelineEvent
from disputes.services import Actor
from odr.errors import IllegalTransition, NotAllowed
from tests.factories import active_mou, file_dispute

FORWARDED_STATUSES = {
    Status.FORWARDED,
    Status.ACCEPTED_BY_PARTNER,
    Status.MERCHANT_CONTACTED,
    Status.NEGOTIATION,
    Status.MEDIATION,
    Status.SETTLED,
    Status.NOT_SETTLED,
    Status.REFERRED_TO_ADJUDICATION,
}


def dispute_in(status: str) -> Dispute:
    """A dispute put straight into a status, as if it had walked there, with a pending offer."""
    dispute = file_dispute()
    fields = {"status": status, "settlement_proposal": "Full refund of IDR 1,250,000"}
    if status in FORWARDED_STATUSES or status == Status.CLOSED:
        mou = active_mou()
        fields.update(mou=mou, partner_agency=mou.partner_of(dispute.home_agency))
    Dispute.objects.filter(pk=dispute.pk).update(**fields)
    return Dispute.objects.get(pk=dispute.pk)


def arguments(name: str) -> dict:
    adjudicator = DomesticBody.objects.filter(handles_adjudication=True).first()
    referral = DomesticBody.objects.get(code="id-kemendag-pktn")
    return {
        "request_clarification": {"question": "Kapan Anda membayar?", "language": "id"},
        "provide_clarification": {"answer": "Tanggal 1 Oktober.", "language": "id"},
        "refer_out_of_scope": {"body": referral, "reason": "Domestic merchant."},
        "forward": {"mou": active_mou()},
        "return_to_home": {"reason": "Merchant is not in Korea."},
        "record_settlement": {
            "summary": "Merchant refunds in full.",
            "language": "en",
            "amount": Decimal("1250000"),
            "currency": "IDR",
        },
        "record_no_settlement": {"summary": "Merchant refused.", "language": "en"},
        "refer_to_adjudication": {"body": adjudicator, "reason": "No agreement."},
        "merchant_decline": {"reasons": "The parcel was delivered.", "language": "ko"},
        "accept_requested_remedy": {
            "perform_by": dt.date.today() + dt.timedelta(days=10),
            "language": "ko",
        },
    }.get(name, {})


def actor_for(side: str, caseworker) -> Actor:
    return {
        "home": Actor.caseworker(caseworker),
        "partner": Actor.agency("KR-KCA"),
        "consumer": Actor.consumer("Dewi Lestari"),
        "merchant": services.merchant_actor("Seoul Gadget Store"),
        "system": Actor.system(),
    }[side]


SERVICES = services.TRANSITION_SERVICES


CASES = [(name, status) for name in TRANSITIONS for status in Status]


@pytest.mark.parametrize(("name", "status"), CASES, ids=[f"{n}-from-{s}" for n, s in CASES])
def test_transition_from_every_status(seeded, caseworker, name, status):
    transition = TRANSITIONS[name]
    dispute = dispute_in(status)
    partner_stages = dispute.mou.partner_stages if dispute.mou_id else active_mou().partner_stages
    side = sorted(allowed_sides(transition, status, partner_stages))[0]
    events_before = dispute.timeline.count()
    service = SERVICES[name]

    if status in transition.sources:
        changed = service(dispute, actor=actor_for(side, caseworker), **arguments(name))
        assert changed.status == transition.target
        event = changed.timeline.latest("at", "pk")
        assert (event.from_status, event.to_status) == (status, transition.target)
        assert event.data["transition"] == name
    else:
        with pytest.raises(IllegalTransition) as raised:
            service(dispute, actor=actor_for(side, caseworker), **arguments(name))
        assert raised.value.code in {"illegal_transition", "no_settlement_proposal"}
        dispute.refresh_from_db()
        assert dispute.status == status
        assert dispute.timeline.count() == events_before


WRONG_SIDES = [
    (name, side)
    for name, transition in TRANSITIONS.items()
    for side in ("home", "partner", "consumer")
    if side
    not in allowed_sides(
        transition, sorted(transition.sources)[0], ["merchant_contact", "negotiation", "mediation"]
    )
]


@pytest.mark.parametrize(("name", "side"), WRONG_SIDES, ids=[f"{n}-by-{s}" for n, s in WRONG_SIDES])
def test_transition_refused_for_the_wrong_side(seeded, caseworker, name, side):
    transition = TRANSITIONS[name]
    status = sorted(transition.sources)[0]
    dispute = dispute_in(status)
    with pytest.raises(NotAllowed) as raised:
        SERVICES[name](dispute, actor=actor_for(side, caseworker), **arguments(name))
    assert raised.value.code == "actor_not_allowed"
    dispute.refresh_from_db()
    assert dispute.status == status


def test_an_agency_outside_the_dispute_may_not_act(seeded):
    dispute = dispute_in(Status.FORWARDED)
    with pytest.raises(NotAllowed):
        services.accept_forwarded(dispute, actor=Actor.agency("GB-UKICC"))


def test_a_user_without_the_caseworker_permission_is_not_a_caseworker(seeded, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="x" * 12)
    with pytest.raises(NotAllowed):
        Actor.caseworker(clerk)


def test_the_mou_decides_which_side_contacts_the_merchant(seeded, caseworker):
    mou = active_mou()
    mou.partner_stages = ["negotiation", "mediation"]
    mou.save()
    dispute = dispute_in(Status.ACCEPTED_BY_PARTNER)
    with pytest.raises(NotAllowed):
        services.contact_merchant(dispute, actor=Actor.agency("KR-KCA"))
    changed = services.contact_merchant(dispute, actor=Actor.caseworker(caseworker))
    assert changed.status == Status.MERCHANT_CONTACTED


def test_full_walk_from_filing_to_closing_writes_one_event_per_step(seeded, caseworker):
    home = Actor.caseworker(caseworker)
    partner = Actor.agency("KR-KCA")
    consumer = Actor.consumer("Dewi Lestari")
    dispute = file_dispute()
    dispute = services.start_review(dispute, actor=home)
    dispute = services.request_clarification(
        dispute, actor=home, question="Apakah ada bukti pembayaran?", language="id"
    )
    assert dispute.review_due_on is None  # the clock stops while the consumer answers
    dispute = services.provide_clarification(
        dispute, actor=consumer, answer="Ya, terlampir.", language="id"
    )
    assert dispute.review_due_on is not None
    dispute = services.forward_dispute(dispute, actor=home)
    assert dispute.partner_agency.code == "KR-KCA"
    assert dispute.mou.reference == "MOU-BPKN-KCA-2021"
    assert dispute.acknowledge_due_on is not None
    dispute = services.accept_forwarded(dispute, actor=partner)
    assert dispute.merchant_contact_due_on and dispute.resolution_due_on
    dispute = services.contact_merchant(dispute, actor=partner)
    dispute = services.start_negotiation(dispute, actor=partner)
    dispute = services.propose_settlement(
        dispute, actor=partner, proposal="Refund in full", language="en"
    )
    dispute = services.accept_settlement(dispute, actor=consumer)
    assert dispute.status == Status.SETTLED
    assert dispute.outcome_summary == "Refund in full"
    dispute = services.close_dispute(dispute, actor=home)
    assert dispute.status == Status.CLOSED
    assert not dispute.is_open
    statuses = list(
        dispute.timeline.filter(kind=TimelineEvent.Kind.STATUS_CHANGED).values_list(
            "to_status", flat=True
        )
    )
    assert statuses == [
        Status.UNDER_REVIEW,
        Status.CLARIFICATION_REQUESTED,
        Status.UNDER_REVIEW,
        Status.FORWARDED,
        Status.ACCEPTED_BY_PARTNER,
        Status.MERCHANT_CONTACTED,
        Status.NEGOTIATION,
        Status.SETTLED,
        Status.CLOSED,
    ]
    assert dispute.review_due_on is None and dispute.resolution_due_on is None


def test_consumer_may_withdraw_at_any_open_stage_but_not_after(seeded):
    for status in (Status.SUBMITTED, Status.NEGOTIATION, Status.MEDIATION):
        dispute = dispute_in(status)
        assert services.withdraw_dispute(dispute, actor=Actor.consumer()).status == (
            Status.WITHDRAWN
        )
    closed = dispute_in(Status.CLOSED)
    with pytest.raises(IllegalTransition):
        services.withdraw_dispute(closed, actor=Actor.consumer())


def test_rejecting_a_settlement_keeps_the_case_open(seeded):
    dispute = dispute_in(Status.NEGOTIATION)
    dispute = services.reject_settlement(
        dispute, actor=Actor.consumer(), reason="Terlalu kecil", language="id"
    )
    assert dispute.status == Status.NEGOTIATION
    assert dispute.settlement_proposal == ""
    with pytest.raises(IllegalTransition):
        services.accept_settlement(dispute, actor=Actor.consumer())
