"""Each deadline's escalation is emailed exactly once with real processes on PostgreSQL: a
worker killed while its mail server has not yet taken the message leaves nothing half-done, and
two beat-started sweeps that then run at the same time send each email once between them."""

from __future__ import annotations

import json

import pytest

from odr.cluster import wait_for
from tests.casework.node_processes import node_with_mail_sink, run_code

DISPUTES = 12

SETUP = f"""
import datetime as dt, json
from django.contrib.auth.models import Group, User
from disputes.models import Dispute
from tests.factories import file_dispute
supervisor = User.objects.create_user("ratna", email="ratna@bpkn.example")
supervisor.groups.add(Group.objects.get(name="Supervisors"))
references = []
for number in range({DISPUTES}):
    dispute = file_dispute(merchant_name=f"Shop {{number}}")
    Dispute.objects.filter(pk=dispute.pk).update(review_due_on=dt.date(2020, 1, 6))
    references.append(dispute.reference)
print(json.dumps(references))
"""
SWEEP = "from casework.tasks import sweep_deadlines; print(sweep_deadlines())"
COUNT = """
import json
from casework.models import DeadlineNotice
notices = DeadlineNotice.objects
print(json.dumps([notices.count(), notices.filter(sent_at=None).count()]))
"""


@pytest.fixture
def node_and_sink(postgres_url, tmp_path):
    with node_with_mail_sink(postgres_url, tmp_path) as node_and_sink:
        yield node_and_sink


def test_a_killed_worker_and_two_sweeps_at_once_send_each_escalation_once(node_and_sink):
    node, sink = node_and_sink
    references = json.loads(node.shell(SETUP))

    # A worker sweeps, then hangs on the first email of its batch; it is killed there.
    sink.stall.set()
    worker = run_code(node, SWEEP)
    wait_for(sink.stalled.is_set, timeout=60, what="the worker's first email")
    worker.kill()
    worker.wait()
    created, unsent = json.loads(node.shell(COUNT))
    assert (created, unsent) == (DISPUTES, DISPUTES)  # the notices stay, none marked sent
    assert sink.accepted == []

    # Two sweeps (two beat processes' ticks) run at once on the next round.
    sink.stall.clear()
    sweeps = [run_code(node, SWEEP), run_code(node, SWEEP)]
    for sweep in sweeps:
        _out, err = sweep.communicate(timeout=120)
        assert sweep.returncode == 0, err
    assert json.loads(node.shell(COUNT)) == [DISPUTES, 0]
    subjects = [
        next(line for line in text.splitlines() if line.startswith("Subject:"))
        for text in sink.accepted
    ]
    assert len(subjects) == DISPUTES
    for reference in references:
        assert sum(reference in subject for subject in subjects) == 1, reference
