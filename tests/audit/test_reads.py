"""Reads of a dispute's personal data on staff pages and through the API, and changes to it, are
written to the audit trail; supervisors see a case's access history on its page."""

from __future__ import annotations

from django.urls import reverse

from audit.models import AuditEntry
from disputes import services
from tests.factories import CaseworkerFactory, SupervisorFactory, file_dispute
from tests.staff import login


def entries_for(dispute) -> list[tuple[str, str, str]]:
    return list(
        AuditEntry.objects.filter(object_type="dispute", object_id=str(dispute.pk))
        .order_by("pk")
        .values_list("actor", "action", "detail")
    )


def test_opening_a_case_and_downloading_evidence_are_logged(client, seeded):
    dispute = file_dispute(evidence=[("receipt.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF")])
    caseworker = CaseworkerFactory()
    login(client, caseworker)
    assert client.get(reverse("casework:detail", args=[dispute.reference])).status_code == 200
    evidence = dispute.evidence.get()
    url = reverse("casework:evidence", args=[dispute.reference, evidence.pk])
    assert client.get(url).status_code == 200
    who = f"user:{caseworker.username}"
    reads = [entry for entry in entries_for(dispute) if entry[1] == "read"]
    assert reads == [(who, "read", "case page"), (who, "read", "evidence file")]


def test_a_refused_look_is_not_a_read(client, seeded, settings):
    dispute = file_dispute()
    login(client, CaseworkerFactory())
    settings.ODR_NODE = "GB-UKICC"  # not a party to this dispute
    assert client.get(reverse("casework:detail", args=[dispute.reference])).status_code == 404
    assert not [entry for entry in entries_for(dispute) if entry[1] == "read"]


def test_every_change_is_logged_with_who_made_it(seeded):
    caseworker = CaseworkerFactory()
    dispute = file_dispute()
    services.start_review(dispute, actor=services.Actor.caseworker(caseworker))
    changes = [entry for entry in entries_for(dispute) if entry[1] == "change"]
    assert changes[0][2].startswith("filed")
    assert changes[-1] == (
        f"user:{caseworker.username}",
        "change",
        "status_changed: submitted → under_review",
    )


def test_the_queue_page_logs_which_cases_it_listed(client, seeded):
    shown = file_dispute()
    caseworker = CaseworkerFactory()
    login(client, caseworker)
    client.get(reverse("casework:queue"))
    entry = AuditEntry.objects.filter(object_type="queue").latest("pk")
    assert entry.actor == f"user:{caseworker.username}"
    assert shown.reference in entry.detail.split()


def test_supervisors_see_the_access_history_and_caseworkers_do_not(client, seeded):
    dispute = file_dispute()
    caseworker = CaseworkerFactory()
    login(client, caseworker)
    page = client.get(reverse("casework:detail", args=[dispute.reference])).content.decode()
    assert "Access history" not in page
    login(client, SupervisorFactory())
    page = client.get(reverse("casework:detail", args=[dispute.reference])).content.decode()
    history = page[page.index('id="access-history"') :]
    assert f"user:{caseworker.username}" in history
    assert "case page" in history


def test_reading_a_dispute_through_the_api_is_logged(seeded):
    from rest_framework.test import APIClient

    from api import services as api_services
    from api.models import ApiFiling

    client, key = api_services.create_client("Tokopedia partner portal", ["disputes:read"])
    dispute = file_dispute()
    ApiFiling.objects.create(client=client, dispute=dispute)
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert http.get(f"/api/v1/disputes/{dispute.reference}/").status_code == 200
    reads = [entry for entry in entries_for(dispute) if entry[1] == "read"]
    assert reads == [(f"apiclient:{client}", "read", "api")]


def test_opening_a_dispute_in_the_admin_is_logged(client, seeded):
    from django.contrib.auth.models import User

    dispute = file_dispute()
    admin = User.objects.create_superuser("root", "root@bpkn.example", "x" * 20)
    login(client, admin)
    url = reverse("admin:disputes_dispute_change", args=[dispute.pk])
    assert client.get(url).status_code == 200
    reads = [entry for entry in entries_for(dispute) if entry[1] == "read"]
    assert reads == [("user:root", "read", "admin page")]


def test_the_audit_trail_in_the_admin_cannot_be_edited(client, seeded):
    from django.contrib.auth.models import User

    file_dispute()  # filing writes an entry
    entry = AuditEntry.objects.latest("pk")
    login(client, User.objects.create_superuser("root", "root@bpkn.example", "x" * 20))
    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 200
    page = client.get(reverse("admin:audit_auditentry_change", args=[entry.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk])).status_code == 403


def test_an_api_client_of_another_agency_never_reads_this_agencys_dispute(seeded):
    from rest_framework.test import APIClient

    from api import services as api_services
    from api.models import ApiClient, ApiFiling

    client, key = api_services.create_client("KCA partner portal", ["disputes:read"])
    ApiClient.objects.filter(pk=client.pk).update(agency=seeded["KR-KCA"])
    dispute = file_dispute()  # BPKN's
    ApiFiling.objects.create(client=client, dispute=dispute)
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert http.get(f"/api/v1/disputes/{dispute.reference}/").status_code == 404
    assert not [entry for entry in entries_for(dispute) if entry[1] == "read"]
