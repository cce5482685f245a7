"""Reads for the caseworker screens: the queue, one dispute, and what may be done to it now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import DateField, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Least

from agencies.models import Agency, MoU
from agencies.selectors import agency_calendar, partner_and_mou
from disputes.lifecycle import STAGE_OF_STATUS, TRANSITIONS, allowed_sides, stage_owner
from disputes.models import Dispute, Message, Status, TimelineEvent
from disputes.services import Actor, agency_today, forwarding_problems, side_of

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


def queue(
    agency: Agency,
    *,
    status: str = "",
    needs_action: bool = False,
    search: str = "",
) -> QuerySet[Dispute]:
    """The caseworker's queue, earliest deadline first, with everything a row shows joined."""
    disputes = (
        disputes_for(agency)
        .select_related(
            "home_agency",
            "partner_agency",
            "mou",
            "consumer_country",
            "merchant_country",
        )
        .annotate(
            next_deadline=Least(
                *(
                    Coalesce(name, Value(NO_DEADLINE), output_field=DateField())
                    for name in DEADLINE_FIELDS
                )
            )
        )
    )
    if status:
        disputes = disputes.filter(status=status)
    if needs_action:
        disputes = disputes.filter(needs_action_from(agency))
    search = search.strip()
    if search:
        disputes = disputes.filter(
            Q(reference__icontains=search)
            | Q(merchant_name__icontains=search)
            | Q(consumer_name__icontains=search)
        )
    return disputes.order_by("next_deadline", "filed_at", "pk")


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


def dispute_for(agency: Agency, reference: str) -> Dispute:
    """One dispute with what its page shows; raises Dispute.DoesNotExist for any other agency's."""
    return (
        disputes_for(agency)
        .select_related(
            "home_agency__country",
            "partner_agency__country",
            "mou",
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


def forwarding_check(dispute: Dispute) -> tuple[MoU | None, list[tuple[str, str]]]:
    """The MoU forwarding would use and why it cannot go, exactly as forward_dispute decides."""
    _partner, mou = partner_and_mou(dispute.home_agency, dispute.merchant_country)
    return mou, forwarding_problems(dispute, mou)


def packets_of(dispute: Dispute) -> list:
    """The case packets the relay sent and received for this dispute, oldest first."""
    from relay.selectors import packets_for_dispute

    return list(packets_for_dispute(dispute))
