"""An enforcement referral is written on the timeline of each case it lists.

Owns ``record_enforcement_referral``. The referral itself (preparation, approval, the PDF)
belongs to the enforcement app; here the case only learns that it was referred, by whom and to
which authority. Agency-internal: the consumer's page does not show it and no packet carries it.
"""

from __future__ import annotations

from ..models import Dispute, TimelineEvent
from .actors import Actor
from .timeline import record_event


def record_enforcement_referral(
    dispute: Dispute, *, actor: Actor, number: str, authority: str, language: str = ""
) -> TimelineEvent:
    return record_event(
        dispute,
        actor,
        TimelineEvent.Kind.ENFORCEMENT,
        text=f"{number} · {authority}",
        language=language,
        data={"event": "enforcement_referral", "referral": number},
        visible_to_consumer=False,
        relay=False,
    )
