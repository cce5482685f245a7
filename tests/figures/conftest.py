"""A small, fully known history of BPKN's disputes across January to March 2026.

Times are set after the services ran, so every event has a known moment (10:00 in Jakarta unless
said otherwise). Working days are counted on Indonesia's calendar (Lunar New Year, Tuesday
17 February 2026, is a holiday) and, for MoU deadlines, on Korea's (16 to 18 February, 1 and 2
March are holidays there).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from agencies.models import DomesticBody, MoU
from disputes import services
from disputes.models import Dispute, Status, TimelineEvent
from tests.factories import active_mou, file_dispute

JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")
HOME = services.Actor.agency("ID-BPKN")
KCA = services.Actor.agency("KR-KCA")
MERCHANT = services.Actor.agency("KR-KCA", on_behalf_of="merchant")
CONSUMER = services.Actor.consumer("Dewi Lestari")


def day(month: int, dom: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, dom, hour, minute, tzinfo=JAKARTA)


def set_times(dispute: Dispute, filed: dt.datetime, **by_status) -> Dispute:
    """Date the filing and every status change (a list for a status reached more than once);
    ``merchant`` dates the merchant's events. Other events happen when the case was filed."""
    Dispute.objects.filter(pk=dispute.pk).update(filed_at=filed)
    dispute.timeline.update(at=filed)
    merchant = by_status.pop("merchant", [])
    for status, moments in by_status.items():
        moments = moments if isinstance(moments, list) else [moments]
        events = dispute.timeline.filter(kind="status_changed", to_status=status).order_by("pk")
        assert events.count() == len(moments), status
        for event, moment in zip(events, moments, strict=True):
            TimelineEvent.objects.filter(pk=event.pk).update(at=moment)
    events = dispute.timeline.filter(actor=TimelineEvent.Actor.MERCHANT).order_by("pk")
    for event, moment in zip(events, merchant, strict=True):
        TimelineEvent.objects.filter(pk=event.pk).update(at=moment)
    return dispute


def forwarded_and_contacted(**filing) -> Dispute:
    dispute = file_dispute(**filing)
    dispute = services.start_review(dispute, actor=HOME)
    dispute = services.forward_dispute(dispute, actor=HOME)
    dispute = services.accept_forwarded(dispute, actor=KCA)
    return services.contact_merchant(dispute, actor=KCA)


def merchant_answers(dispute: Dispute) -> None:
    services.post_message(dispute, actor=MERCHANT, body="We will refund the order.", language="en")


@pytest.fixture
def history(db, seeded):
    return build_history()


@pytest.fixture
def live_history(transactional_db, seeded):
    """The same history committed, for a live server's thread to see."""
    return build_history()


def build_history() -> dict[str, Dispute]:
    mou = active_mou()
    MoU.objects.filter(pk=mou.pk).update(resolution_days=10)

    # A: filed on Friday 30 January, settled on 18 February in rupiah: crosses a month end and
    # the Lunar New Year holiday. 12 working days to resolve; 9 Korean working days after the
    # partner accepted, within the MoU's 10. The merchant answered 2 working days after contact.
    a = forwarded_and_contacted()
    merchant_answers(a)
    a = services.record_settlement(
        a,
        actor=KCA,
        summary="Full refund",
        language="en",
        amount=Decimal("1000000"),
        currency="IDR",
    )
    set_times(
        a,
        day(1, 30),
        under_review=day(1, 30),
        forwarded=day(1, 30),
        accepted_by_partner=day(2, 2),
        merchant_contacted=day(2, 2),
        settled=day(2, 18),
        merchant=[day(2, 4)],
    )

    # B: filed 16 February and withdrawn two days later: an outcome, never resolved.
    b = file_dispute()
    b = services.withdraw_dispute(b, actor=CONSUMER)
    set_times(b, day(2, 16), withdrawn=day(2, 18))

    # C: filed 2 February, settled on 20 February, reopened on 24 February and settled again on
    # 2 March in won: resolved in March, 19 working days after filing; 15 Korean working days
    # after acceptance, so late. The merchant never wrote.
    c = forwarded_and_contacted(category="clothing")
    c = services.record_settlement(
        c,
        actor=KCA,
        summary="Partial refund",
        language="en",
        amount=Decimal("300000"),
        currency="KRW",
    )
    TimelineEvent.objects.create(
        dispute=c,
        actor="partner_agency",
        kind="status_changed",
        from_status="settled",
        to_status="negotiation",
        text="The merchant did not pay; talks reopened.",
    )
    Dispute.objects.filter(pk=c.pk).update(status=Status.NEGOTIATION)
    c.refresh_from_db()
    c = services.record_settlement(
        c,
        actor=KCA,
        summary="Refund paid",
        language="en",
        amount=Decimal("350000"),
        currency="KRW",
    )
    set_times(
        c,
        day(2, 2),
        under_review=day(2, 2),
        forwarded=day(2, 2),
        accepted_by_partner=day(2, 3),
        merchant_contacted=day(2, 3),
        settled=[day(2, 20), day(3, 2)],
        negotiation=day(2, 24),
    )

    # D: filed at KCA, forwarded to BPKN at 01:00 on 1 February in Jakarta (still 31 January in
    # UTC): received in February. Still open.
    d = file_dispute(
        home="KR-KCA",
        merchant_country="ID",
        currency="KRW",
        amount=Decimal("90000"),
        intake_channel="email",
    )
    d = services.start_review(d, actor=KCA)
    d = services.forward_dispute(d, actor=KCA)
    d = services.accept_forwarded(d, actor=HOME)
    set_times(
        d,
        day(1, 20),
        under_review=day(1, 20),
        forwarded=day(2, 1, 1, 0),
        accepted_by_partner=day(2, 2),
    )

    # E: filed 3 March, no settlement in mediation, referred to adjudication on 11 March and
    # closed: resolved in 6 working days, 5 Korean working days after acceptance.
    e = forwarded_and_contacted()
    merchant_answers(e)
    e = services.start_mediation(e, actor=KCA)
    e = services.record_no_settlement(e, actor=KCA, summary="No agreement", language="en")
    tribunal = DomesticBody.objects.filter(handles_adjudication=True).first()
    e = services.refer_to_adjudication(e, actor=KCA, body=tribunal)
    e = services.close_dispute(e, actor=HOME)
    set_times(
        e,
        day(3, 3),
        under_review=day(3, 3),
        forwarded=day(3, 3),
        accepted_by_partner=day(3, 4),
        merchant_contacted=day(3, 4),
        mediation=day(3, 6),
        not_settled=day(3, 10),
        referred_to_adjudication=day(3, 11),
        closed=day(3, 12),
        merchant=[day(3, 5)],
    )
    return {"a": a, "b": b, "c": c, "d": d, "e": e}
