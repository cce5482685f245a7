"""The dispute lifecycle as an explicit transition table.

Each row names a transition, the statuses it may start from, the status it leads to, and which
side of the case may perform it. "home" is the agency where the consumer filed, "partner" the
agency in the merchant's country. For the merchant-facing stages the MoU decides which side acts:
a stage listed in the MoU's ``partner_stages`` is the partner's, any other stays with home.

We chose a plain table over django-fsm-2: the checks depend on the actor and the MoU, every
transition must also write a timeline event and maybe a case packet in the same transaction, and
a table that documentation, the API and tests can all read is easier to audit than decorators.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import TERMINAL_STATUSES, Status

OPEN_STATUSES = frozenset(Status) - TERMINAL_STATUSES

# Stages the MoU may hand to the partner agency, and the statuses that belong to each.
STAGE_OF_STATUS = {
    Status.ACCEPTED_BY_PARTNER: "merchant_contact",
    Status.MERCHANT_CONTACTED: "negotiation",
    Status.NEGOTIATION: "negotiation",
    Status.MEDIATION: "mediation",
}


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    sides: frozenset[str]  # consumer, home, partner, stage (the side that owns the MoU stage)
    stage: str | None = None  # for sides == {"stage"}: which MoU stage decides


def _t(name, sources, target, sides, stage=None) -> Transition:
    return Transition(name, frozenset(sources), target, frozenset(sides), stage)


S = Status
TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        _t("start_review", {S.SUBMITTED}, S.UNDER_REVIEW, {"home"}),
        _t("request_clarification", {S.UNDER_REVIEW}, S.CLARIFICATION_REQUESTED, {"home"}),
        _t(
            "provide_clarification",
            {S.CLARIFICATION_REQUESTED},
            S.UNDER_REVIEW,
            {"consumer", "home"},
        ),
        _t("refer_out_of_scope", {S.UNDER_REVIEW}, S.OUT_OF_SCOPE, {"home"}),
        _t("forward", {S.UNDER_REVIEW}, S.FORWARDED, {"home"}),
        _t("accept_forwarded", {S.FORWARDED}, S.ACCEPTED_BY_PARTNER, {"partner"}),
        _t("return_to_home", {S.FORWARDED}, S.UNDER_REVIEW, {"partner"}),
        _t(
            "contact_merchant",
            {S.ACCEPTED_BY_PARTNER},
            S.MERCHANT_CONTACTED,
            {"stage"},
            "merchant_contact",
        ),
        _t("start_negotiation", {S.MERCHANT_CONTACTED}, S.NEGOTIATION, {"stage"}, "negotiation"),
        # The merchant's first answer through their link opens the negotiation.
        _t("merchant_respond", {S.MERCHANT_CONTACTED}, S.NEGOTIATION, {"merchant"}),
        # The merchant declines the consumer's claim: the agency mediates or refers.
        _t(
            "merchant_decline",
            {S.MERCHANT_CONTACTED, S.NEGOTIATION},
            S.MEDIATION,
            {"merchant"},
        ),
        # The reply clock ran out: recorded by the node's beat (system), or by the caseworker of
        # the side that handles the negotiation; the case goes to mediation.
        _t(
            "record_merchant_silence",
            {S.MERCHANT_CONTACTED},
            S.MEDIATION,
            {"system", "stage"},
            "negotiation",
        ),
        # The merchant grants what the consumer asked for: settled on the consumer's terms.
        _t(
            "accept_requested_remedy",
            {S.MERCHANT_CONTACTED, S.NEGOTIATION, S.MEDIATION},
            S.SETTLED,
            {"merchant"},
        ),
        _t(
            "start_mediation",
            {S.MERCHANT_CONTACTED, S.NEGOTIATION},
            S.MEDIATION,
            {"stage"},
            "mediation",
        ),
        _t(
            "record_settlement",
            {S.MERCHANT_CONTACTED, S.NEGOTIATION, S.MEDIATION},
            S.SETTLED,
            {"stage"},
        ),
        _t(
            "accept_settlement",
            {S.MERCHANT_CONTACTED, S.NEGOTIATION, S.MEDIATION},
            S.SETTLED,
            {"consumer"},
        ),
        _t(
            "record_no_settlement",
            {S.MERCHANT_CONTACTED, S.NEGOTIATION, S.MEDIATION},
            S.NOT_SETTLED,
            {"stage"},
        ),
        _t(
            "refer_to_adjudication",
            {S.NOT_SETTLED, S.MEDIATION},
            S.REFERRED_TO_ADJUDICATION,
            {"home", "partner"},
        ),
        _t(
            "close",
            {S.SETTLED, S.NOT_SETTLED, S.REFERRED_TO_ADJUDICATION, S.OUT_OF_SCOPE},
            S.CLOSED,
            {"home"},
        ),
        _t("withdraw", OPEN_STATUSES, S.WITHDRAWN, {"consumer", "home"}),
    ]
}


def stage_owner(partner_stages: list[str] | None, stage: str | None) -> str:
    """Which side handles a merchant-facing stage under the MoU."""
    if partner_stages is None:
        return "home"
    return "partner" if stage in partner_stages else "home"


def allowed_sides(transition: Transition, status: str, partner_stages: list[str] | None) -> set:
    sides = set(transition.sides)
    if "stage" in sides:
        sides.discard("stage")
        stage = transition.stage or STAGE_OF_STATUS.get(status)
        sides.add(stage_owner(partner_stages, stage))
    return sides


def transitions_from(status: str) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if status in t.sources]
