"""Reads for the caseworker screens: the queue, one dispute, and what may be done to it now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import (
    Count,
    DateField,
    Expression,
    F,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce, Least

from agencies import refcache
from agencies.models import Agency, Category, MoU
from agencies.selectors import agency_calendar, partner_and_mou, this_agency
from disputes.lifecycle import STAGE_OF_STATUS, TRANSITIONS, allowed_sides, stage_owner
from disputes.models import Dispute, Message, Status, TimelineEvent
from disputes.services import Actor, agency_today, forwarding_problems, side_of

from .models import Assignment, SavedView, StaffMember

# Stands in for "no deadline" so that the earliest real deadline sorts first on every database.
NO_DEADLINE = dt.date(9999, 12, 31)
DEADLINE_FIELDS = (
    "review_due_on",
    "acknowledge_due_on",
    "merchant_contact_due_on",
    "resolution_due_on",
)
# A deadline this many working days away or fewer is "due soon".
DUE_SOON_WORKING_DAYS = 2

# Which side moves the case on next, for statuses where it does not depend on the MoU.
HOME_ACTS = (
    Status.SUBMITTED,
    Status.UNDER_REVIEW,
    Status.OUT_OF_SCOPE,
    Status.SETTLED,
    Status.NOT_SETTLED,
    Status.REFERRED_TO_ADJUDICATION,
)
PARTNER_ACTS = (Status.FORWARDED,)

# Transitions a caseworker performs on screen; accept_settlement is the consumer's own answer.
CASEWORKER_TRANSITIONS = [name for name in TRANSITIONS if name != "accept_settlement"]


def disputes_for(agency: Agency) -> QuerySet[Dispute]:
    """Every dispute this agency is a party to, as home or as partner; nothing else."""
    return Dispute.objects.filter(Q(home_agency=agency) | Q(partner_agency=agency))


# --- who may see what: every casework view and the queue go through these ---------------------


def works_here(user, agency: Agency) -> bool:
    """A caseworker (or supervisor, or agency admin) of this agency. Staff of another agency who
    have an account on this node (a liaison, a shared server) are not, whatever their groups."""
    if not (user.is_authenticated and user.is_active and user.has_perm("disputes.handle_dispute")):
        return False
    # Signed-in users come with their membership joined (casework.auth.StaffBackend).
    try:
        member_of = user.staff_membership.agency_id
    except StaffMember.DoesNotExist:
        member_of = None
    return member_of in (None, agency.pk)


def node_agency() -> Agency:
    """This node's agency, kept for a few seconds like the other reference rows."""
    return refcache.cached(("node-agency", settings.ODR_NODE), this_agency)


def other_agencies(agency: Agency) -> list[Agency]:
    return refcache.cached(
        ("other-agencies", agency.pk),
        lambda: list(Agency.objects.exclude(pk=agency.pk).order_by("code")),
    )


def categories() -> list[Category]:
    return refcache.cached(("categories",), lambda: list(Category.objects.order_by("code")))


def sees_whole_queue(user) -> bool:
    """Supervisors and agency admins see every case of the agency; caseworkers do not."""
    return user.has_perm("casework.see_agency_queue")


def may_assign(user) -> bool:
    return user.has_perm("casework.assign_dispute")


def may_approve_referrals(user) -> bool:
    return user.has_perm("casework.approve_referral")


def pending_referral(dispute: Dispute):
    from .models import ReferralRequest

    return (
        ReferralRequest.objects.filter(dispute=dispute, decided_at=None)
        .select_related("body", "requested_by")
        .first()
    )


def may_see_access_history(user) -> bool:
    return user.has_perm("audit.view_access_history")


def disputes_visible_to(user, agency: Agency) -> QuerySet[Dispute]:
    """The agency's disputes this person may open: all for a supervisor; unassigned ones and
    their own for a caseworker; none for anyone who does not work here."""
    if not works_here(user, agency):
        return Dispute.objects.none()
    disputes = disputes_for(agency)
    if not sees_whole_queue(user):
        disputes = disputes.filter(Q(assignment__isnull=True) | Q(assignment__assignee=user))
    return disputes


def needs_action_from(agency: Agency) -> Q:
    """Disputes where this agency is the side that acts next.

    Merchant-facing stages belong to whichever side the MoU gives them; MoUs are few, so their
    stage lists are read once and turned into id lists the database can filter on.
    """
    mou_stages = list(MoU.objects.values_list("pk", "partner_stages"))
    condition = Q(home_agency=agency, status__in=HOME_ACTS) | Q(
        partner_agency=agency, status__in=PARTNER_ACTS
    )
    for status, stage in STAGE_OF_STATUS.items():
        partner_mous = [pk for pk, stages in mou_stages if stage_owner(stages, stage) == "partner"]
        condition |= Q(status=status, partner_agency=agency, mou_id__in=partner_mous)
        condition |= Q(status=status, home_agency=agency) & ~Q(mou_id__in=partner_mous)
    return condition


def agency_side(dispute: Dispute, agency: Agency) -> str:
    """home or partner: which side of the dispute this agency (a party to it) is."""
    return "home" if dispute.home_agency_id == agency.pk else "partner"


def acting_side(dispute: Dispute) -> str | None:
    """home, partner or consumer: who moves the case on next; None once it is finished."""
    if dispute.status in HOME_ACTS:
        return "home"
    if dispute.status in PARTNER_ACTS:
        return "partner"
    if dispute.status == Status.CLARIFICATION_REQUESTED:
        return "consumer"
    if dispute.status in STAGE_OF_STATUS:
        stages = dispute.mou.partner_stages if dispute.mou_id else None
        return stage_owner(stages, STAGE_OF_STATUS[dispute.status])
    return None


class NoDeadline(Expression):
    """The stand-in date written into the SQL itself, not passed as a parameter, so that the
    query's expression is the very one the queue's index is built on (see migration 0003)."""

    output_field = DateField()

    def as_sql(self, compiler, connection):
        return "DATE '9999-12-31'", []

    def as_sqlite(self, compiler, connection):
        return "'9999-12-31'", []


def next_deadline(prefix: str = "") -> Least:
    """The earliest running deadline; ``prefix`` reaches it through a relation ("dispute__")."""
    return Least(*(Coalesce(F(f"{prefix}{name}"), NoDeadline()) for name in DEADLINE_FIELDS))


OPEN_EXCLUDED = (Status.WITHDRAWN, Status.CLOSED)


def workload(agency: Agency, today: dt.date) -> list[dict]:
    """Open cases per caseworker of the agency, with how many are overdue, busiest first."""

    open_assigned = (
        Assignment.objects.filter(
            Q(dispute__home_agency=agency) | Q(dispute__partner_agency=agency)
        )
        .exclude(dispute__status__in=OPEN_EXCLUDED)
        .annotate(due=next_deadline("dispute__"))
        .values("assignee")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due__lt=today)))
    )
    counts = {row["assignee"]: row for row in open_assigned}
    people = []
    for person in staff_of(agency):
        row = counts.get(person.pk, {})
        people.append(
            {"user": person, "open": row.get("open", 0), "overdue": row.get("overdue", 0)}
        )
    return sorted(people, key=lambda row: (-row["open"], row["user"].get_username()))


def saved_views_of(user) -> list[SavedView]:
    return list(SavedView.objects.filter(user=user).order_by("name"))


def staff_for_filters(agency: Agency) -> list:
    """staff_of for the queue's "assigned to" choices, kept a few seconds like reference rows:
    someone who just joined appears there within 5 s (assigning always reads afresh)."""
    return refcache.cached(("casework-staff", agency.pk), lambda: staff_of(agency))


def staff_of(agency: Agency) -> list:
    """Active caseworkers and supervisors who work for this agency, by name."""
    from django.contrib.auth import get_user_model

    from .roles import CASEWORKERS, SUPERVISORS

    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[CASEWORKERS, SUPERVISORS])
        .filter(Q(staff_membership__isnull=True) | Q(staff_membership__agency=agency))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
    return list(users)


@dataclass(frozen=True)
class Deadline:
    label: str
    due_on: dt.date
    working_days_left: int

    @property
    def overdue(self) -> bool:
        return self.working_days_left < 0

    @property
    def due_soon(self) -> bool:
        return 0 <= self.working_days_left <= DUE_SOON_WORKING_DAYS


class DeadlineClock:
    """Counts working days to deadlines on this agency's calendar, read once per page."""

    def __init__(self, agency: Agency, today: dt.date | None = None):
        self.today = today or agency_today(agency)
        self.calendar = agency_calendar(agency, self.today)

    def deadline(self, label: str, due_on: dt.date | None) -> Deadline | None:
        if due_on is None or due_on == NO_DEADLINE:
            return None
        if due_on < self.today:
            # A deadline on the last working day stays overdue the day after, even at a weekend.
            left = min(-1, self.calendar.working_days_between(self.today, due_on))
        else:
            left = self.calendar.working_days_between(self.today, due_on)
        return Deadline(label, due_on, left)

    def deadlines_of(self, dispute: Dispute) -> list[Deadline]:
        found = []
        for name in DEADLINE_FIELDS:
            deadline = self.deadline(
                str(Dispute._meta.get_field(name).verbose_name), getattr(dispute, name)
            )
            if deadline:
                found.append(deadline)
        return sorted(found, key=lambda deadline: deadline.due_on)


def dispute_for(user, agency: Agency, reference: str) -> Dispute:
    """One dispute with what its page shows; raises Dispute.DoesNotExist for any other agency's
    and for any this person may not open."""
    return (
        disputes_visible_to(user, agency)
        .select_related(
            "assignment__assignee",
            "home_agency__country",
            "partner_agency__country",
            "mou",
            "merchant",
            "consumer_country",
            "merchant_country",
            "category",
            "desired_remedy",
            "referred_to",
        )
        .prefetch_related(
            "problem_types",
            "evidence",
            Prefetch(
                "messages",
                queryset=Message.objects.prefetch_related("translations").order_by("sent_at"),
            ),
            Prefetch("timeline", queryset=TimelineEvent.objects.order_by("at", "pk")),
        )
        .get(reference=reference)
    )


def available_actions(dispute: Dispute, actor: Actor) -> list[str]:
    """The transitions this caseworker's side may make now, plus putting a settlement offer."""
    side = side_of(actor, dispute)
    partner_stages = dispute.mou.partner_stages if dispute.mou_id else None
    actions = [
        name
        for name in CASEWORKER_TRANSITIONS
        if dispute.status in TRANSITIONS[name].sources
        and side in allowed_sides(TRANSITIONS[name], dispute.status, partner_stages)
    ]
    if dispute.status in TRANSITIONS["accept_settlement"].sources and side in ("home", "partner"):
        actions.insert(0, "propose_settlement")
    return actions


def may_invite_merchant(dispute: Dispute, actor: Actor) -> bool:
    """Whether this caseworker's side deals with the merchant and the case is at that stage."""
    from disputes.services.merchants import ENGAGED, contact_side

    if dispute.status not in (Status.ACCEPTED_BY_PARTNER, *ENGAGED) or not dispute.mou_id:
        return False
    return side_of(actor, dispute) == contact_side(dispute)


def forwarding_check(dispute: Dispute) -> tuple[MoU | None, list[tuple[str, str]]]:
    """The MoU forwarding would use and why it cannot go, exactly as forward_dispute decides."""
    _partner, mou = partner_and_mou(dispute.home_agency, dispute.merchant_country)
    return mou, forwarding_problems(dispute, mou)


def packets_of(dispute: Dispute) -> list:
    """The case packets the relay sent and received for this dispute, oldest first."""
    from relay.selectors import packets_for_dispute

    return list(packets_for_dispute(dispute))
