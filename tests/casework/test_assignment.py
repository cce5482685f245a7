"""A supervisor assigns and reassigns; a caseworker sees unassigned cases and their own, and
may take an unassigned one; the supervisor sees each caseworker's workload."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from casework.models import Assignment
from disputes.models import Dispute
from tests.factories import CaseworkerFactory, SupervisorFactory, file_dispute
from tests.staff import login


def references(response) -> list[str]:
    return re.findall(r'href="/casework/disputes/([A-Z0-9-]+)/"', response.content.decode())


@pytest.fixture
def team(seeded):
    return {
        "supervisor": SupervisorFactory(),
        "siti": CaseworkerFactory(first_name="Siti"),
        "budi": CaseworkerFactory(first_name="Budi"),
    }


def assign(client, dispute, person):
    return client.post(
        reverse("casework:assign", args=[dispute.reference]),
        {"assignee": person.pk if person else ""},
    )


def test_a_supervisor_assigns_and_reassigns(client, team):
    dispute = file_dispute()
    login(client, team["supervisor"])
    assert assign(client, dispute, team["siti"]).status_code == 302
    assert Assignment.objects.get(dispute=dispute).assignee == team["siti"]
    assert assign(client, dispute, team["budi"]).status_code == 302
    assignment = Assignment.objects.get(dispute=dispute)
    assert (assignment.assignee, assignment.assigned_by) == (team["budi"], team["supervisor"])
    page = client.get(reverse("casework:detail", args=[dispute.reference])).content.decode()
    assert "Assigned to Budi" in page


def test_a_caseworker_sees_unassigned_cases_and_their_own_only(client, team):
    supervisor = team["supervisor"]
    unassigned, theirs, someone_elses = file_dispute(), file_dispute(), file_dispute()
    login(client, supervisor)
    assign(client, theirs, team["siti"])
    assign(client, someone_elses, team["budi"])
    assert set(references(client.get(reverse("casework:queue")))) == {
        unassigned.reference,
        theirs.reference,
        someone_elses.reference,
    }
    login(client, team["siti"])
    assert set(references(client.get(reverse("casework:queue")))) == {
        unassigned.reference,
        theirs.reference,
    }
    mine = client.get(reverse("casework:queue"), {"assigned": "me"})
    assert references(mine) == [theirs.reference]
    url = reverse("casework:detail", args=[someone_elses.reference])
    assert client.get(url).status_code == 404


def test_a_caseworker_takes_an_unassigned_case_but_cannot_take_anothers(client, team):
    free, owned = file_dispute(), file_dispute()
    login(client, team["supervisor"])
    assign(client, owned, team["budi"])
    login(client, team["siti"])
    assert assign(client, free, team["siti"]).status_code == 302
    assert Assignment.objects.get(dispute=free).assignee == team["siti"]
    # Giving it away, or handing a case to a colleague, is the supervisor's call.
    assert assign(client, free, team["budi"]).status_code == 403
    assert assign(client, free, None).status_code == 403
    assert Assignment.objects.get(dispute=free).assignee == team["siti"]


def test_only_this_agencys_caseworkers_can_be_given_a_case(client, team):
    from django.contrib.auth.models import User

    dispute = file_dispute()
    clerk = User.objects.create_user("clerk", password="x" * 20)
    login(client, team["supervisor"])
    response = assign(client, dispute, clerk)
    assert response.status_code == 400
    assert not Assignment.objects.filter(dispute=dispute).exists()


def test_the_supervisor_sees_the_workload_per_caseworker(client, team, seeded):
    overdue, on_time, other = file_dispute(), file_dispute(), file_dispute()
    Dispute.objects.filter(pk=overdue.pk).update(review_due_on=dt.date(2020, 1, 6))
    login(client, team["supervisor"])
    for dispute in (overdue, on_time):
        assign(client, dispute, team["siti"])
    assign(client, other, team["budi"])
    page = client.get(reverse("casework:workload")).content.decode()
    rows = {
        name: (int(open_), int(late))
        for name, open_, late in re.findall(
            r">(Siti|Budi) [^<]*</a></th>\s*<td[^>]*>(\d+)</td>\s*<td[^>]*>(\d+)</td>", page
        )
    }
    assert rows == {"Siti": (2, 1), "Budi": (1, 0)}
