"""A node for an agency the seed does not know sets up its own agency from its documents, and
enters its MoUs from the command line."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agencies.models import Agency, Country, MoU

NCCC = [
    "--prefix=NCCC",
    "--short-name=NCCC",
    "--name=National Consumer Complaints Centre",
    "--country=MY",
    "--country-name=Malaysia",
    "--currency=MYR",
    "--time-zone=Asia/Kuala_Lumpur",
    "--languages=ms,en",
    "--email=aduan@nccc.example",
]


def test_reference_data_without_agencies(db):
    MoU.objects.all().delete()
    Agency.objects.all().delete()
    call_command("seed_agencies", "--reference-only", stdout=StringIO())
    assert Country.objects.filter(code="ID").exists()
    assert not Agency.objects.exists()
    assert not MoU.objects.exists()


def test_the_node_sets_up_its_own_agency_and_country(db, settings):
    settings.ODR_NODE = "MY-NCCC"
    call_command("seed_agencies", "--reference-only", stdout=StringIO())
    out = StringIO()
    call_command("init_agency", *NCCC, stdout=out)
    agency = Agency.objects.get(code="MY-NCCC")
    assert agency.is_this_node and agency.status == Agency.Status.ACTIVE
    assert agency.country.timezone == "Asia/Kuala_Lumpur"
    assert agency.country.public_holidays.exists()  # Malaysia's, from the holidays package
    assert agency.inbox_url.endswith("/relay/inbox/")
    with pytest.raises(CommandError, match="exists"):
        call_command("init_agency", *NCCC)


def test_only_the_agency_this_node_serves(db, settings):
    settings.ODR_NODE = "ID-BPKN"
    with pytest.raises(CommandError, match="not_this_node"):
        call_command("init_agency", "--code=MY-NCCC", *NCCC)
    assert not Agency.objects.filter(code="MY-NCCC").exists()


def test_a_bad_code_is_refused_and_nothing_stored(db, settings):
    settings.ODR_NODE = "my-nccc"
    with pytest.raises(CommandError, match="invalid"):
        call_command("init_agency", "--code=my-nccc", *NCCC)
    assert not Agency.objects.filter(code__iexact="my-nccc").exists()


def test_mou_create_makes_a_draft_with_its_scope(seeded, settings):
    out = StringIO()
    call_command(
        "mou",
        "create",
        "MOU-BPKN-UKICC-2027",
        "--partner=GB-UKICC",
        "--signed-on=2026-12-01",
        "--effective-from=2027-01-01",
        "--categories=electronics,clothing",
        "--max-claim=3000",
        "--currency=GBP",
        "--stages=merchant_contact",
        "--languages=en",
        "--resolution-days=45",
        stdout=out,
    )
    assert "MOU-BPKN-UKICC-2027 created as a draft: prospective" in out.getvalue()
    mou = MoU.objects.get(reference="MOU-BPKN-UKICC-2027")
    assert mou.status == MoU.Status.DRAFT
    assert set(mou.categories.values_list("code", flat=True)) == {"electronics", "clothing"}
    assert (mou.max_claim_currency, mou.resolution_days) == ("GBP", 45)
    with pytest.raises(CommandError, match="unknown_category"):
        call_command("mou", "create", "MOU-X", "--partner=GB-UKICC", "--categories=nope")
    assert not MoU.objects.filter(reference="MOU-X").exists()
