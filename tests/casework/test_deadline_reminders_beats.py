"""Each deadline's reminder and escalation is emailed exactly once by a node running a Celery
worker and two `celery beat` processes on PostgreSQL and Redis, when the worker is killed midway
through its emails and the beat queueing the sweeps is killed too: the other beat, standing by
until then, takes over, and sweep after sweep, some of them at once, sends nothing twice."""

from __future__ import annotations

import json

import pytest

from odr.cluster import wait_for
from tests.casework.node_processes import log_count, node_with_mail_sink

DISPUTES = 6
OWNER = "siti@bpkn.example"
SUPERVISOR = "ratna@bpkn.example"
OVERDUE = "2020-01-06"

# Each dispute, assigned to its owner, has one deadline long past (an escalation to the
# supervisor) and one on the next working day (a reminder to the owner). The next working day,
# not today: the reminder stays a reminder if the agency's midnight passes during the test.
SETUP = f"""
import datetime as dt, json
from agencies.selectors import agency_calendar
from casework.selectors import node_agency
from casework.services import assign_dispute
from disputes.models import Dispute
from disputes.services import agency_today
from tests.factories import CaseworkerFactory, SupervisorFactory, file_dispute
bpkn = node_agency()
supervisor = SupervisorFactory(email={SUPERVISOR!r})
owner = CaseworkerFactory(email={OWNER!r})
today = agency_today(bpkn)
soon = agency_calendar(bpkn, today).add_working_days(today, 1)
references = []
for number in range({DISPUTES}):
    dispute = file_dispute(merchant_name=f"Shop {{number}}")
    assign_dispute(dispute, owner, by=supervisor, agency=bpkn)
    Dispute.objects.filter(pk=dispute.pk).update(
        review_due_on=dt.date.fromisoformat({OVERDUE!r}),
        acknowledge_due_on=soon,
        merchant_contact_due_on=None,
        resolution_due_on=None,
    )
    references.append(dispute.reference)
print(json.dumps({{"references": references, "soon": soon.isoformat()}}))
"""
NOTICES = """
import json
from casework.models import DeadlineNotice
print(json.dumps([
    {
        "reference": notice.dispute.reference,
        "deadline": notice.deadline,
        "kind": notice.kind,
        "to": ", ".join(notice.recipients),
        "due": notice.due_on.isoformat(),
        "sent": notice.sent_at is not None,
    }
    for notice in DeadlineNotice.objects.select_related("dispute")
]))
"""
# What beat logs each time it queues the sweep, and the worker each time a sweep has run.
QUEUED = r"Sending due task casework-sweep-deadlines"
SWEPT = r"Task casework\.tasks\.sweep_deadlines\[[-0-9a-f]+\] succeeded"


@pytest.fixture
def node_and_sink(postgres_url, tmp_path):
    with node_with_mail_sink(
        postgres_url,
        tmp_path,
        ODR_DEADLINE_SWEEP_SECONDS="1",
        # A killed beat's lock expires within 6 s and the stand-by tries every 2 s; a beat
        # renewing late on a busy machine still has 4 s before it would lose the lock.
        ODR_BEAT_LOCK_SECONDS="6",
        # Only the deadline sweep keeps the worker busy.
        ODR_RELAY_SWEEP_SECONDS="3600",
    ) as node_and_sink:
        yield node_and_sink


def notices(node) -> list[dict]:
    return json.loads(node.shell(NOTICES))


def made(rows: list[dict]) -> list[tuple]:
    """(reference, deadline, kind) of each notice row."""
    return sorted((row["reference"], row["deadline"], row["kind"]) for row in rows)


def marked_sent(rows: list[dict]) -> list[tuple]:
    """(recipient, reference, due date) of each notice row marked sent."""
    return sorted((row["to"], row["reference"], row["due"]) for row in rows if row["sent"])


def deadline_emails(sink, references: list[str], dates: tuple[str, ...]) -> list[tuple]:
    """(recipient, reference, due date) of each email to the owner or the supervisor that the
    mail server accepted (the consumers' filing receipts go out too)."""
    found = []
    for message in sink.messages():
        if str(message["To"]) not in (OWNER, SUPERVISOR):
            continue
        subject = message["Subject"]
        reference = next(r for r in references if r in subject)
        due = next(date for date in dates if date in subject)
        found.append((str(message["To"]), reference, due))
    return sorted(found)


def lock_roles(beats):
    """(the beat holding the node's beat lock, the one standing by), once both have said so."""
    holding = [beat for beat in beats if log_count(beat, "beat lock taken")]
    waiting = [beat for beat in beats if log_count(beat, "standing by")]
    if len(holding) == 1 and len(waiting) == 1 and holding != waiting:
        return holding[0], waiting[0]
    return None


def test_two_beats_a_killed_worker_and_a_killed_beat_send_each_notice_once(node_and_sink):
    node, sink = node_and_sink
    team = json.loads(node.shell(SETUP))
    references, soon = team["references"], team["soon"]
    dates = (OVERDUE, soon)
    each_notice = sorted(
        [(reference, "review_due_on", "escalation") for reference in references]
        + [(reference, "acknowledge_due_on", "reminder") for reference in references]
    )
    each_email = sorted(
        [(SUPERVISOR, reference, OVERDUE) for reference in references]
        + [(OWNER, reference, soon) for reference in references]
    )

    # The mail server takes three deadline emails, then hangs (the consumers' filing receipts
    # go through). The worker has one process, so what the server took is all that process
    # sent before it hung. Two beats start with it.
    sink.stall_only_to = {OWNER, SUPERVISOR}
    sink.stall_after = 3
    sink.stall.set()
    node.start_worker(concurrency=1)
    beats = [node.start_beat("beat-1"), node.start_beat("beat-2")]
    node.wait_worker()
    holder, standby = wait_for(
        lambda: lock_roles(beats), timeout=60, what="one beat holding the lock, one standing by"
    )
    wait_for(sink.stalled.is_set, timeout=60, what="the mail server hanging on the 4th email")

    # Mid-run, the worker is killed, and the beat that queued its sweeps dies with it. Every
    # notice was made; the three emails the server took are marked sent, and only those.
    node.processes["worker"].kill()
    holder.kill()
    rows = notices(node)
    assert made(rows) == each_notice
    taken = deadline_emails(sink, references, dates)
    assert len(taken) == 3
    assert marked_sent(rows) == taken
    assert log_count(holder, QUEUED) >= 1
    assert log_count(standby, QUEUED) == 0  # one beat per node queues sweeps
    queued_by_the_dead_beat = log_count(holder, QUEUED)

    # The mail server answers again, slowly, and a worker of two processes starts: a sweep is
    # still sending when the next one starts beside it. The stand-by beat takes the lock.
    sink.answer_after = 0.3
    sink.stall.clear()
    node.start_worker(concurrency=2)
    node.wait_worker()
    worker = node.processes["worker"]
    wait_for(lambda: log_count(standby, "beat lock taken"), timeout=60, what="the take-over")
    wait_for(
        lambda: len(deadline_emails(sink, references, dates)) >= len(each_email),
        timeout=60,
        what="every deadline email",
    )

    # Sweep after sweep goes on, each queued by the beat that took over: nothing is sent again.
    swept = log_count(worker, SWEPT)
    wait_for(lambda: log_count(worker, SWEPT) >= swept + 5, timeout=60, what="five more sweeps")
    assert log_count(holder, QUEUED) == queued_by_the_dead_beat
    assert log_count(standby, QUEUED) >= 5
    rows = notices(node)
    assert made(rows) == each_notice
    assert marked_sent(rows) == each_email
    assert deadline_emails(sink, references, dates) == each_email
