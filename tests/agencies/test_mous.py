"""Constraints that protect MoU data: one active MoU per pair, signatures, canonical order."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from agencies.models import Agency, MoU, MoUStatusChange
from agencies.selectors import active_mou_between
from agencies.services import change_mou_status, create_mou
from odr.errors import DomainError, IllegalTransition


def agencies(*codes):
    return [Agency.objects.get(code=code) for code in codes]


def test_seeded_mous_match_the_real_agreements(seeded):
    bpkn, kca, ukicc = agencies("ID-BPKN", "KR-KCA", "GB-UKICC")
    mou = active_mou_between(kca, bpkn)
    assert mou.reference == "MOU-BPKN-KCA-2021"
    assert mou.signed_on.year == 2021 and mou.signed_on.month == 8
    assert active_mou_between(bpkn, ukicc) is None
    assert MoU.objects.get(reference="MOU-BPKN-UKICC-DRAFT").status == MoU.Status.DRAFT
    assert list(mou.status_changes.values_list("to_status", flat=True)) == ["draft", "active"]


def test_a_pair_cannot_have_two_active_mous_through_the_service(seeded):
    bpkn, kca = agencies("ID-BPKN", "KR-KCA")
    second = create_mou(
        first=kca,
        second=bpkn,
        reference="MOU-KCA-BPKN-2026",
        title="Renewal",
        signed_on=dt.date(2026, 1, 5),
        effective_from=dt.date(2026, 1, 5),
    )
    assert (second.agency_a_id, second.agency_b_id) == tuple(sorted([bpkn.pk, kca.pk]))
    with pytest.raises(DomainError) as raised:
        change_mou_status(second, MoU.Status.ACTIVE)
    assert raised.value.code == "mou_already_active"
    second.refresh_from_db()
    assert second.status == MoU.Status.DRAFT


def test_the_database_refuses_a_second_active_mou_for_a_pair(seeded):
    bpkn, kca = agencies("ID-BPKN", "KR-KCA")
    low, high = sorted([bpkn, kca], key=lambda agency: agency.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        MoU.objects.create(
            reference="MOU-RAW", title="Raw insert", agency_a=low, agency_b=high, status="active"
        )


def test_the_database_refuses_parties_in_the_wrong_order_or_the_same_agency(seeded):
    bpkn, kca = agencies("ID-BPKN", "KR-KCA")
    low, high = sorted([bpkn, kca], key=lambda agency: agency.pk)
    for first, second in ((high, low), (low, low)):
        with pytest.raises(IntegrityError), transaction.atomic():
            MoU.objects.create(reference="MOU-X", title="x", agency_a=first, agency_b=second)


def test_an_unsigned_mou_cannot_become_active(seeded):
    draft = MoU.objects.get(reference="MOU-BPKN-UKICC-DRAFT")
    with pytest.raises(DomainError) as raised:
        change_mou_status(draft, MoU.Status.ACTIVE)
    assert raised.value.code == "mou_not_signed"


def test_mou_status_changes_follow_their_table_and_keep_history(seeded, django_user_model):
    admin = django_user_model.objects.create_superuser("admin", "admin@example.org", "pw" * 8)
    mou = MoU.objects.get(reference="MOU-BPKN-KCA-2021")
    change_mou_status(mou, MoU.Status.SUSPENDED, by=admin, note="Review of the annex")
    change_mou_status(mou, MoU.Status.TERMINATED, by=admin)
    with pytest.raises(IllegalTransition):
        change_mou_status(mou, MoU.Status.ACTIVE)
    history = MoUStatusChange.objects.filter(mou=mou).order_by("changed_at", "pk")
    assert [(c.from_status, c.to_status) for c in history][-2:] == [
        ("active", "suspended"),
        ("suspended", "terminated"),
    ]
    assert history.last().changed_by == admin
