"""A supervisor and a caseworker in a real Chromium against a live server: the supervisor assigns
a case, the caseworker is reminded of its deadline, misses it, the supervisor sees the escalation
on the queue and reassigns the case."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from agencies.selectors import agency_calendar
from casework.models import Assignment
from casework.tasks import sweep_deadlines
from disputes.models import Dispute
from disputes.services import agency_today
from tests.factories import CaseworkerFactory, SupervisorFactory, file_dispute
from tests.staff import browser_sign_in

PASSWORD = "correct horse battery staple"


@pytest.fixture
def team(transactional_db, seeded):
    """Data committed for the live server's thread to see."""
    bpkn = seeded["ID-BPKN"]
    today = agency_today(bpkn)
    dispute = file_dispute(merchant_name="Seoul Gadget Store")
    due = agency_calendar(bpkn, today).add_working_days(today, 1)
    Dispute.objects.filter(pk=dispute.pk).update(review_due_on=due)
    return {
        "supervisor": SupervisorFactory(first_name="Ratna", email="ratna@bpkn.example"),
        "siti": CaseworkerFactory(first_name="Siti", email="siti@bpkn.example"),
        "budi": CaseworkerFactory(first_name="Budi", email="budi@bpkn.example"),
        "dispute": dispute,
        "today": today,
    }


def sign_in(page, live_server, user):
    browser_sign_in(page, live_server, user, PASSWORD)


def assign_to(page, live_server, dispute, name: str):
    page.goto(f"{live_server.url}/casework/disputes/{dispute.reference}/")
    page.get_by_label("Assign to").select_option(label=name)
    with page.expect_navigation():
        page.locator("#assignment").get_by_role("button").click()


def test_assign_remind_escalate_reassign(page, live_server, team, screenshot):
    dispute = team["dispute"]
    sign_in(page, live_server, team["supervisor"])
    assign_to(page, live_server, dispute, f"Siti {team['siti'].last_name}")
    assert "Assigned to Siti" in page.locator("#assignment").inner_text()
    screenshot(page, "assigned")

    # The beat sweep: Siti is reminded; her queue shows the case due soon.
    mail.outbox.clear()
    sweep_deadlines()
    (reminder,) = mail.outbox
    assert reminder.to == ["siti@bpkn.example"] and reminder.subject.startswith("Pengingat")
    sign_in(page, live_server, team["siti"])
    page.goto(f"{live_server.url}/casework/?assigned=me")
    row = page.locator("tr", has_text=dispute.reference)
    assert "Due in 1 working day" in row.inner_text()
    screenshot(page, "caseworker-reminded")

    # The deadline passes without a review: the next sweep escalates to the supervisor.
    Dispute.objects.filter(pk=dispute.pk).update(review_due_on=team["today"] - dt.timedelta(days=3))
    sweep_deadlines()
    escalation = mail.outbox[-1]
    assert escalation.to == ["ratna@bpkn.example"]
    assert escalation.subject.startswith("Terlambat")
    sign_in(page, live_server, team["supervisor"])
    row = page.locator("tr", has_text=dispute.reference)
    assert "Escalated to the supervisor" in row.inner_text()
    assert "is-overdue" in row.get_attribute("class")
    screenshot(page, "supervisor-sees-escalation")

    assign_to(page, live_server, dispute, f"Budi {team['budi'].last_name}")
    assert Assignment.objects.get(dispute=dispute).assignee == team["budi"]
    history = page.locator("#access-history").inner_text()
    assert "assigned to " + team["budi"].username in history
    screenshot(page, "reassigned")
    page.goto(f"{live_server.url}/casework/workload/")
    screenshot(page, "workload")
