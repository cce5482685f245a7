"""Writes about disputes: filing, every lifecycle transition, messages and evidence.

Every transition is one function. It locks the dispute, checks the status and who acts, applies
the change, recomputes deadlines and writes the timeline event in one transaction; the event is
published through ``disputes.events`` inside that transaction. An illegal move raises a
``DomainError`` with a stable code.

The package holds one module per stage; callers use ``from disputes import services`` and the
names below.

- ``actors``: who acts and on which side.
- ``rows``: the dispute's row read under its lock (the domain's one fast path).
- ``deadlines``: working-day deadlines on the acting agency's calendar.
- ``timeline``: ``record_event`` (the event boundary) and ``apply_transition``.
- ``filing``: ``file_dispute`` and reference numbers.
- ``transitions``: review, forwarding, the partner's stages, settlement, outcomes.
- ``messages``: messages, translations, documents.
"""

from .actors import Actor, side_of, timeline_actor
from .deadlines import agency_today, compute_deadlines
from .filing import allocate_reference, file_dispute
from .messages import add_document, add_translation, post_message
from .rows import check_values, holding_lock, lock_dispute, lock_dispute_row
from .timeline import apply_transition, record_event, require_text
from .transitions import (
    TRANSITION_SERVICES,
    accept_forwarded,
    accept_settlement,
    close_dispute,
    contact_merchant,
    flag_missed_deadlines,
    forward_dispute,
    forwarding_problems,
    propose_settlement,
    provide_clarification,
    record_no_settlement,
    record_settlement,
    refer_out_of_scope,
    refer_to_adjudication,
    reject_settlement,
    request_clarification,
    return_to_home,
    start_mediation,
    start_negotiation,
    start_review,
    withdraw_dispute,
)

__all__ = [
    "TRANSITION_SERVICES",
    "Actor",
    "accept_forwarded",
    "accept_settlement",
    "add_document",
    "add_translation",
    "agency_today",
    "allocate_reference",
    "apply_transition",
    "check_values",
    "close_dispute",
    "compute_deadlines",
    "contact_merchant",
    "file_dispute",
    "flag_missed_deadlines",
    "forward_dispute",
    "forwarding_problems",
    "holding_lock",
    "lock_dispute",
    "lock_dispute_row",
    "post_message",
    "propose_settlement",
    "provide_clarification",
    "record_event",
    "record_no_settlement",
    "record_settlement",
    "refer_out_of_scope",
    "refer_to_adjudication",
    "reject_settlement",
    "request_clarification",
    "require_text",
    "return_to_home",
    "side_of",
    "start_mediation",
    "start_negotiation",
    "start_review",
    "timeline_actor",
    "withdraw_dispute",
]
