"""Writes for the consumer portal: drafts and their files, filing, and the consumer's actions.

The consumer's actions on a dispute are calls to disputes.services with ``Actor.consumer``; the
relay carries them to the partner agency and notifications follow from the timeline events.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.selectors import this_agency
from disputes import services as disputes
from disputes.evidence import check_evidence
from disputes.models import Dispute, IntakeChannel
from odr.celery import BROKER_ERRORS, publish
from odr.errors import InvalidInput

from . import selectors
from .models import DRAFT_LIFETIME, Draft, StagedFile

logger = logging.getLogger(__name__)

# Form fields that are buttons or protection, never the consumer's words.
NOT_INPUT = {"csrfmiddlewaretoken", "action", "files"}
CHECKED = selectors.CHECKED


def start_draft(language: str) -> Draft:
    return Draft.objects.create(language=language)


def save_step(draft: Draft, step: str, data, *, checked: bool = True) -> Draft:
    """Keep exactly what was typed in a step, valid or not, and extend the draft's life.

    ``checked`` is False for a background save while typing: that step's errors are not shown
    until the consumer asks to continue.
    """
    raw = {key: data.getlist(key) for key in data if key not in NOT_INPUT}
    checked_steps = set(draft.data.get(CHECKED, []))
    if checked:
        checked_steps.add(step)
    draft.data = {**draft.data, step: raw, CHECKED: sorted(checked_steps)}
    draft.updated_at = timezone.now()
    draft.expires_at = draft.updated_at + DRAFT_LIFETIME
    draft.save(update_fields=["data", "updated_at", "expires_at"])
    return draft


def _read(upload) -> bytes:
    limit = settings.ODR_MAX_EVIDENCE_FILE_BYTES
    # Read one byte past the limit: enough to know a file is too big without holding all of it.
    return upload.read(limit + 1)


def stage_files(draft: Draft, uploads: Iterable) -> list[str]:
    """Check and keep uploaded evidence on the draft; return one clear message per refused file."""
    errors: list[str] = []
    total = sum(draft.files.values_list("size", flat=True))
    allowed_total = settings.ODR_MAX_CASE_EVIDENCE_BYTES
    for upload in uploads:
        name = PurePath(upload.name or "evidence").name[:255]
        content = _read(upload)
        try:
            content_type = check_evidence(name, content)
        except InvalidInput as error:
            errors.append(error.message)
            continue
        digest = hashlib.sha256(content).hexdigest()
        if draft.files.filter(sha256=digest).exists():
            continue
        if total + len(content) > allowed_total:
            errors.append(
                _("%(name)s was not added: together the files may be at most %(limit)s.")
                % {"name": name, "limit": filesizeformat(allowed_total)}
            )
            continue
        staged = StagedFile(
            draft=draft,
            original_name=name,
            sha256=digest,
            size=len(content),
            content_type=content_type,
        )
        staged.file.save(digest, ContentFile(content), save=False)
        staged.save()
        total += len(content)
    return errors


def remove_staged_file(draft: Draft, staged_id: int) -> None:
    staged = draft.files.filter(pk=staged_id).first()
    if staged is not None:
        name = staged.file.name
        staged.delete()
        transaction.on_commit(lambda: default_storage.delete(name))


def discard_draft(draft: Draft) -> None:
    names = list(draft.files.values_list("file", flat=True))
    draft.delete()
    transaction.on_commit(lambda: [default_storage.delete(name) for name in names])


@transaction.atomic
def submit_draft(draft: Draft, *, language: str) -> Dispute:
    """File the draft as a dispute (web intake) and forget the draft.

    Raises ``InvalidInput`` naming the first step that still needs the consumer's attention.
    """
    draft = Draft.objects.select_for_update().filter(pk=draft.pk).first()
    if draft is None:
        # A second click on "send" while the first was filing: the draft is already a dispute.
        raise InvalidInput(_("This dispute has already been sent."), code="draft_already_filed")
    step = selectors.first_incomplete_step(draft)
    if step is not None:
        raise InvalidInput(_("Some answers are missing or need correcting."), code=step)
    values = selectors.draft_values(draft)
    evidence = []
    for staged in draft.files.all():
        with staged.file.open("rb") as handle:
            evidence.append((staged.original_name, handle.read()))
    dispute = disputes.file_dispute(
        actor=disputes.Actor.consumer(values["consumer_name"]),
        consumer_name=values["consumer_name"],
        consumer_email=values["consumer_email"],
        consumer_phone=values.get("consumer_phone", ""),
        consumer_country=values["consumer_country"],
        consumer_language=values["consumer_language"],
        merchant_name=values["merchant_name"],
        merchant_website=values.get("merchant_website", ""),
        merchant_country=values["merchant_country"],
        merchant_contact=values.get("merchant_contact", ""),
        purchase_date=values["purchase_date"],
        order_number=values.get("order_number", ""),
        amount=values["amount"],
        currency=values["currency"],
        payment_method=values["payment_method"],
        platform=values.get("platform", ""),
        category=values["category"],
        problem_types=values["problem_types"],
        desired_remedy=values["desired_remedy"],
        consumer_account=values["consumer_account"],
        filing_language=language,
        intake_channel=IntakeChannel.WEB,
        home_agency=this_agency(),
        evidence=evidence,
    )
    discard_draft(draft)
    return dispute


def purge_expired_drafts(now=None) -> int:
    now = now or timezone.now()
    count = 0
    for draft in Draft.objects.filter(expires_at__lte=now):
        with transaction.atomic():
            discard_draft(draft)
        count += 1
    return count


# --- the consumer's actions on a dispute --------------------------------------------------------


def _consumer(dispute: Dispute) -> disputes.Actor:
    return disputes.Actor.consumer(dispute.consumer_name)


def _check_uploads(uploads: Iterable) -> list[tuple[str, bytes]]:
    """Read and check every file before anything is written, so one bad file changes nothing."""
    files = []
    for upload in uploads:
        name = PurePath(upload.name or "evidence").name[:255]
        content = _read(upload)
        check_evidence(name, content)
        files.append((name, content))
    return files


@transaction.atomic
def answer_clarification(
    dispute: Dispute, *, answer: str, uploads: Iterable = (), language: str
) -> Dispute:
    files = _check_uploads(uploads)
    for name, content in files:
        disputes.add_document(dispute, actor=_consumer(dispute), name=name, content=content)
    return disputes.provide_clarification(
        dispute, actor=_consumer(dispute), answer=answer, language=language
    )


@transaction.atomic
def send_message(dispute: Dispute, *, body: str, uploads: Iterable = (), language: str):
    files = _check_uploads(uploads)
    message = disputes.post_message(dispute, actor=_consumer(dispute), body=body, language=language)
    for name, content in files:
        disputes.add_document(dispute, actor=_consumer(dispute), name=name, content=content)
    return message


def decide_settlement(dispute: Dispute, *, accept: bool, reason: str = "", language: str):
    if accept:
        return disputes.accept_settlement(dispute, actor=_consumer(dispute))
    return disputes.reject_settlement(
        dispute, actor=_consumer(dispute), reason=reason, language=language
    )


def withdraw(dispute: Dispute, *, reason: str = "", language: str) -> Dispute:
    return disputes.withdraw_dispute(
        dispute, actor=_consumer(dispute), reason=reason, language=language
    )


def request_tracking_link(reference: str, email: str) -> None:
    """Email a fresh link when reference and address match; say nothing either way."""
    from .tasks import send_tracking_link

    dispute = Dispute.objects.filter(
        reference=reference.strip().upper(),
        consumer_email__iexact=email.strip(),
        home_agency__code=settings.ODR_NODE,
    ).first()
    if dispute is not None:
        dispute_id = dispute.pk

        def send():
            # Nothing else holds this request: with the broker down, the email is sent here.
            try:
                publish(lambda: send_tracking_link.delay(dispute_id))
            except BROKER_ERRORS as error:
                logger.warning("could not queue a tracking link (%s); sending it now", error)
                send_tracking_link.apply(args=(dispute_id,))

        transaction.on_commit(send)
