"""Enforcement referrals: drafted by staff, approved by another supervisor; approved, the cases
are frozen, the PDF is made once in the agency's language and each case's timeline records it.
Refusals leave nothing written."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from agencies.models import DomesticBody
from audit.models import AuditEntry
from disputes.models import Dispute, Status, TimelineEvent
from disputes.services import agency_today
from enforcement import services
from enforcement.models import EnforcementReferral
from odr.errors import InvalidInput, NotAllowed
from relay.models import OutboundPacket
from tests.factories import CaseworkerFactory, SupervisorFactory, file_dispute
from tests.pdf import first_page_png, pdf_text
from tests.staff import login

SHOP = "https://seoulgadget.example.kr"
TODAY, TOMORROW, LONG_AGO = "today", "tomorrow", "long ago"
KEY = "web:seoulgadget.example.kr"


@pytest.fixture
def world(seeded):
    cases = [file_dispute(merchant_website=SHOP) for _ in range(3)]
    Dispute.objects.filter(pk=cases[0].pk).update(
        status=Status.SETTLED,
        settlement_amount=Decimal("600000"),
        settlement_currency="IDR",
        outcome_summary="Sebagian dana dikembalikan.",
    )
    return {
        "agency": seeded["ID-BPKN"],
        "cases": cases,
        "komdigi": DomesticBody.objects.get(code="id-komdigi"),
        "caseworker": CaseworkerFactory(),
        "supervisor": SupervisorFactory(),
    }


def prepare(world, *, by=None, **changes):
    today = agency_today(world["agency"])
    fields = dict(
        agency=world["agency"],
        by=by or world["caseworker"],
        merchant_key=KEY,
        authority=world["komdigi"],
        recommendation="Mohon blokir akses ke situs ini.",
        filed_from=today - dt.timedelta(days=30),
        filed_to=today,
    )
    fields.update(changes)
    return services.prepare_referral(**fields)


def test_an_approved_referral_freezes_its_cases_keeps_its_pdf_and_marks_each_case(
    world, mailoutbox
):
    referral = prepare(world)
    assert referral.number == f"BPKN-ENF-{agency_today(world['agency']).year}-0001"
    assert referral.is_draft and not referral.pdf_sha256
    packets_before = OutboundPacket.objects.count()

    services.decide_referral(referral, by=world["supervisor"], agency=world["agency"], approve=True)

    referral.refresh_from_db()
    assert referral.state == EnforcementReferral.State.APPROVED
    assert referral.decided_by == world["supervisor"]
    assert referral.pdf_sha256 == hashlib.sha256(bytes(referral.pdf)).hexdigest()
    assert [case["reference"] for case in referral.cases] == [
        case.reference for case in world["cases"]
    ]
    for case in world["cases"]:
        event = case.timeline.get(kind=TimelineEvent.Kind.ENFORCEMENT)
        assert event.data == {"event": "enforcement_referral", "referral": referral.number}
        assert event.text == f"{referral.number} · Kementerian Komunikasi dan Digital (Komdigi)"
        assert event.language == "id"
        assert not event.visible_to_consumer
    # The agency's own business: no packet to the partner, no email to the consumer.
    assert OutboundPacket.objects.count() == packets_before
    assert mailoutbox == []
    # Audited: the referral's preparation and approval, and the record on each case.
    assert AuditEntry.objects.filter(object_type="enforcement_referral").count() == 2
    assert (
        AuditEntry.objects.filter(
            object_type="dispute", detail="enforcement", action="change"
        ).count()
        == 3
    )

    text = pdf_text(bytes(referral.pdf))
    assert referral.number in text
    assert "Kementerian Komunikasi dan Digital" in text  # addressed in Indonesian
    assert "Rujukan penegakan" in text and "Mohon blokir akses ke situs ini." in text
    assert "Rp" in text and "600.000" in text  # recovered, formatted for Indonesian readers
    for case in world["cases"]:
        assert case.reference in text
    assert "Dewi Lestari" not in text and "dewi@example.id" not in text and "+62" not in text
    # A picture of it, to look at: test-artifacts/screenshots/enforcement-referral-id-1.png
    assert first_page_png(bytes(referral.pdf), "enforcement-referral-id").stat().st_size > 20_000


def test_the_approved_document_does_not_change_when_the_cases_do(world, client):
    referral = prepare(world)
    services.decide_referral(referral, by=world["supervisor"], agency=world["agency"], approve=True)
    login(client, world["caseworker"])
    url = reverse("enforcement:referral_pdf", args=[referral.number])
    first = client.get(url)
    Dispute.objects.filter(pk=world["cases"][1].pk).update(status=Status.WITHDRAWN)
    second = client.get(url)
    assert first.status_code == second.status_code == 200
    assert first["Content-Type"] == "application/pdf"
    assert first.content == second.content
    assert (
        hashlib.sha256(second.content).hexdigest()
        == referral.__class__.objects.get(pk=referral.pk).pdf_sha256
    )


def test_whoever_prepared_a_referral_does_not_approve_it(world):
    referral = prepare(world, by=world["supervisor"])
    with pytest.raises(NotAllowed) as refused:
        services.decide_referral(
            referral, by=world["supervisor"], agency=world["agency"], approve=True
        )
    assert refused.value.code == "four_eyes"
    referral.refresh_from_db()
    assert referral.is_draft and not TimelineEvent.objects.filter(kind="enforcement").exists()
    # Another supervisor may.
    services.decide_referral(referral, by=SupervisorFactory(), agency=world["agency"], approve=True)


def test_a_caseworker_cannot_approve_on_screen(world, client):
    referral = prepare(world, by=SupervisorFactory())
    login(client, world["caseworker"])
    url = reverse("enforcement:referral", args=[referral.number])
    assert "Approve the referral" not in client.get(url).content.decode()
    response = client.post(url, {"decision": "approve"})
    assert response.status_code == 403
    referral.refresh_from_db()
    assert referral.is_draft


def test_a_supervisor_approves_on_screen_and_the_cases_show_it(world, client):
    referral = prepare(world)
    login(client, world["supervisor"])
    url = reverse("enforcement:referral", args=[referral.number])
    assert "Approve the referral" in client.get(url).content.decode()
    response = client.post(url, {"decision": "approve"})
    assert response.status_code == 302
    detail = client.get(reverse("casework:detail", args=[world["cases"][2].reference]))
    assert "Enforcement referral" in detail.content.decode()


def test_declining_needs_a_reason_and_leaves_the_cases_alone(world, client):
    referral = prepare(world)
    login(client, world["supervisor"])
    url = reverse("enforcement:referral", args=[referral.number])
    response = client.post(url, {"decision": "decline"})
    assert response.status_code == 400
    assert "Say why the referral is declined." in response.content.decode()
    referral.refresh_from_db()
    assert referral.is_draft

    client.post(url, {"decision": "decline", "note": "Too few cases yet."})
    referral.refresh_from_db()
    assert referral.state == EnforcementReferral.State.DECLINED
    assert referral.decision_note == "Too few cases yet." and not referral.pdf_sha256
    assert not TimelineEvent.objects.filter(kind="enforcement").exists()
    assert (
        client.get(reverse("enforcement:referral_pdf", args=[referral.number])).status_code == 404
    )
    with pytest.raises(InvalidInput) as again:
        services.decide_referral(
            referral, by=SupervisorFactory(), agency=world["agency"], approve=True
        )
    assert again.value.code == "referral_already_decided"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"recommendation": "   "}, "recommendation_missing"),
        ({"recommendation": "x" * 5001}, "text_too_long"),
        ({"authority": "kr-ftc"}, "authority_abroad"),
        ({"filed_from": TOMORROW, "filed_to": TODAY}, "bad_period"),
        ({"filed_from": LONG_AGO, "filed_to": LONG_AGO}, "no_cases"),
    ],
)
def test_a_bad_referral_is_refused_and_nothing_is_written(world, change, code):
    today = agency_today(world["agency"])
    days = {TODAY: today, TOMORROW: today + dt.timedelta(days=1), LONG_AGO: dt.date(2020, 1, 6)}
    change = {name: days.get(value, value) for name, value in change.items()}
    if "authority" in change:
        change["authority"] = DomesticBody.objects.get(code=change["authority"])
    with pytest.raises(InvalidInput) as refused:
        prepare(world, **change)
    assert refused.value.code == code
    assert not EnforcementReferral.objects.exists()


def test_a_referral_lists_the_cases_of_its_period_and_never_another_merchants(world):
    other = file_dispute(merchant_website="https://batik.example.id")
    withdrawn = file_dispute(merchant_website=SHOP)
    Dispute.objects.filter(pk=withdrawn.pk).update(status=Status.WITHDRAWN)
    before = file_dispute(merchant_website=SHOP)
    Dispute.objects.filter(pk=before.pk).update(filed_at=timezone.now() - dt.timedelta(days=90))

    referral = prepare(world)

    listed = set(referral.disputes.values_list("pk", flat=True))
    assert listed == {case.pk for case in world["cases"]}
    assert other.pk not in listed and withdrawn.pk not in listed and before.pk not in listed
    with_withdrawn = prepare(world, include_withdrawn=True)
    assert withdrawn.pk in set(with_withdrawn.disputes.values_list("pk", flat=True))


def test_a_referral_too_long_to_read_asks_for_a_shorter_period(world, monkeypatch):
    monkeypatch.setattr("enforcement.selectors.MAX_CASES", 2)
    with pytest.raises(InvalidInput) as refused:
        prepare(world)
    assert refused.value.code == "too_many_cases"
    assert not EnforcementReferral.objects.exists()


def test_a_bad_form_is_shown_again_with_the_errors_in_the_readers_language(world, client):
    login(client, world["caseworker"])
    response = client.post(
        reverse("enforcement:prepare_referral", args=[KEY]),
        {"authority": world["komdigi"].pk, "recommendation": "", "filed_from": "kemarin"},
        HTTP_ACCEPT_LANGUAGE="id",
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Bidang ini harus diisi." in page  # the recommendation, and the end of the period
    assert "Masukkan tanggal yang valid." in page
    assert not EnforcementReferral.objects.exists()


def test_a_draft_can_be_previewed_marked_as_a_draft(world, client):
    referral = prepare(world)
    login(client, world["caseworker"])
    response = client.get(reverse("enforcement:referral_pdf", args=[referral.number]))
    assert response.status_code == 200
    assert "DRAF" in pdf_text(response.content)
    referral.refresh_from_db()
    assert referral.pdf is None and not TimelineEvent.objects.filter(kind="enforcement").exists()


def test_referrals_are_numbered_per_agency_and_year(world):
    first, second = prepare(world), prepare(world)
    assert first.number.startswith("BPKN-ENF-")
    assert int(second.number.rsplit("-", 1)[1]) == int(first.number.rsplit("-", 1)[1]) + 1
