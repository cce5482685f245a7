"""What the parties send on an open case: messages, caseworkers' translations, documents.

Owns: ``post_message``, ``add_translation`` (``store_translation``, also for the consumer's
account) and ``add_document``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from odr.errors import IllegalTransition, InvalidInput, NotAllowed

from ..evidence import store_evidence
from ..lifecycle import OPEN_STATUSES
from ..models import Dispute, Message, MessageTranslation, TimelineEvent
from .actors import Actor, side_of
from .rows import lock_dispute
from .timeline import record_event, require_text


def post_message(
    dispute: Dispute,
    *,
    actor: Actor,
    body: str,
    language: str,
    visible_to_consumer: bool = True,
    uid: str | None = None,
    sent_at: dt.datetime | None = None,
    savepoint: bool = True,
) -> Message:
    """Post a message on the case. A relayed message keeps its uid, so it is stored only once.

    ``savepoint=False``: in the caller's transaction as it is, with no savepoint of its own and
    no look for an earlier copy of a relayed message. For a caller that takes its whole
    transaction back when this raises (the relay's inbox, which then tries again with one).
    """
    with transaction.atomic(savepoint=savepoint):
        body = require_text(body, _("a message"))
        dispute = lock_dispute(dispute)
        side = side_of(actor, dispute)
        if side == "outsider":
            raise NotAllowed(_("You may not write on this dispute."), code="actor_not_allowed")
        if side == "consumer" and dispute.status not in OPEN_STATUSES:
            raise IllegalTransition(
                _("This dispute is closed; it no longer takes messages."), code="dispute_closed"
            )
        # A relayed message seen before (rare): the cheap question first, the message only then.
        # Without a savepoint the unique uid refuses a copy, and the caller tries again with one.
        if uid and savepoint and Message.objects.filter(uid=uid).order_by().values_list("pk")[:1]:
            return Message.objects.get(uid=uid)
        author_kind = {
            "consumer": Message.Author.CONSUMER,
            "home": Message.Author.HOME_AGENCY,
            "partner": Message.Author.PARTNER_AGENCY,
            "merchant": Message.Author.MERCHANT,
        }.get(side, Message.Author.HOME_AGENCY)
        message = Message.objects.create(
            dispute=dispute,
            author_kind=author_kind,
            author_name=actor.name,
            body=body,
            language=language,
            visible_to_consumer=visible_to_consumer,
            sent_at=sent_at or timezone.now(),
            uid=uid or str(uuid.uuid4()),
        )
        record_event(
            dispute,
            actor,
            TimelineEvent.Kind.MESSAGE,
            text=body,
            language=language,
            data={"message_uid": message.uid},
            visible_to_consumer=visible_to_consumer,
            message=message,
        )
        return message


@transaction.atomic
def add_translation(
    message: Message, *, actor: Actor, language: str, body: str
) -> MessageTranslation:
    """Store a caseworker's translation beside the original, which is never changed."""
    if actor.kind not in ("caseworker", "agency"):
        raise NotAllowed(_("Only caseworkers add translations."))
    body = require_text(body, _("the translation"))
    return store_translation(
        message.translations,
        actor=actor,
        language=language,
        body=body,
        original_language=message.language,
    )


def store_translation(
    translations, *, actor: Actor, language: str, body: str, original_language: str
):
    """A caseworker's translation (``translations``: the original's related manager, of a
    ``Translation`` model), in another language than the original; a second one into the same
    language replaces it. The caller checks who may translate and the text."""
    if language == original_language:
        raise InvalidInput(
            _("The translation must be in another language than the original."),
            code="same_language",
        )
    translation, _created = translations.update_or_create(
        language=language,
        defaults={"body": body, "translated_by": actor.name, "translated_at": timezone.now()},
    )
    return translation


@transaction.atomic
def add_document(
    dispute: Dispute,
    *,
    actor: Actor,
    name: str,
    content: bytes,
    note: str = "",
    language: str = "",
    visible_to_consumer: bool = True,
):
    """Add a file to an open case (the consumer's new evidence, or a caseworker's document)."""

    dispute = lock_dispute(dispute)
    side = side_of(actor, dispute)
    if side not in ("consumer", "home", "partner", "merchant"):
        raise NotAllowed(_("You may not add files to this dispute."), code="actor_not_allowed")
    if dispute.status not in OPEN_STATUSES:
        raise IllegalTransition(
            _("This dispute is closed; it no longer takes files."), code="dispute_closed"
        )
    uploaded_by = {
        "consumer": "consumer",
        "home": "home_agency",
        "partner": "partner_agency",
        "merchant": "merchant",
    }[side]
    evidence, created = store_evidence(dispute, name=name, content=content, uploaded_by=uploaded_by)
    if created:
        record_event(
            dispute,
            actor,
            TimelineEvent.Kind.DOCUMENT,
            text=note,
            language=language,
            data={"sha256": evidence.sha256, "name": evidence.original_name},
            visible_to_consumer=visible_to_consumer,
        )
    return evidence
