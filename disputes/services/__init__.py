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
- ``terms``: checks on texts, amounts, currencies and dates in proposed terms.
- ``merchants``: the merchant on record, the invitation and link, the merchant's actions.
- ``performance``: carrying out the settlement, the consumer's receipt and rating.
- ``reply_clock``: the merchant's reminder and silence, once each.
"""

from .actors import Actor, side_of, timeline_actor
from .deadlines import agency_today, compute_deadlines
from .enforcement import record_enforcement_referral
from .filing import allocate_reference, file_dispute
from .merchant_identity import dispute_merchant_key, merchant_key, normalise_domain
from .merchants import (
    MERCHANT_TRANSITION_SERVICES,
    accept_requested_remedy,
    invite_merchant,
    known_merchant_for,
    merchant_actor,
    merchant_add_document,
    merchant_answer,
    merchant_decline,
    merchant_did_not_respond,
    merchant_propose,
    merchant_respond,
    record_merchant,
    revoke_merchant_link,
    translate_account,
)
from .messages import add_document, add_translation, post_message
from .performance import confirm_performance, confirm_receipt, rate_dispute
from .reply_clock import record_merchant_silence, remind_merchant, run_merchant_clock
from .rows import check_values, holding_lock, lock_dispute, lock_dispute_row
from .timeline import apply_transition, record_event, require_text
from .transitions import (
    TRANSITION_SERVICES as _STAGE_TRANSITIONS,
)
from .transitions import (
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

TRANSITION_SERVICES = {**_STAGE_TRANSITIONS, **MERCHANT_TRANSITION_SERVICES}

__all__ = [
    "TRANSITION_SERVICES",
    "Actor",
    "accept_forwarded",
    "accept_requested_remedy",
    "accept_settlement",
    "add_document",
    "add_translation",
    "agency_today",
    "allocate_reference",
    "apply_transition",
    "check_values",
    "close_dispute",
    "compute_deadlines",
    "confirm_performance",
    "confirm_receipt",
    "contact_merchant",
    "dispute_merchant_key",
    "file_dispute",
    "flag_missed_deadlines",
    "forward_dispute",
    "forwarding_problems",
    "holding_lock",
    "invite_merchant",
    "known_merchant_for",
    "lock_dispute",
    "lock_dispute_row",
    "merchant_actor",
    "merchant_add_document",
    "merchant_answer",
    "merchant_decline",
    "merchant_did_not_respond",
    "merchant_key",
    "merchant_propose",
    "merchant_respond",
    "normalise_domain",
    "post_message",
    "propose_settlement",
    "provide_clarification",
    "rate_dispute",
    "record_enforcement_referral",
    "record_event",
    "record_merchant",
    "record_merchant_silence",
    "record_no_settlement",
    "record_settlement",
    "refer_out_of_scope",
    "refer_to_adjudication",
    "reject_settlement",
    "remind_merchant",
    "request_clarification",
    "require_text",
    "return_to_home",
    "revoke_merchant_link",
    "run_merchant_clock",
    "side_of",
    "start_mediation",
    "start_negotiation",
    "start_review",
    "timeline_actor",
    "translate_account",
    "withdraw_dispute",
]
