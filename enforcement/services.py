"""Writes of the enforcement referral: preparing a draft, and a supervisor's decision.

Permission checks live here and in ``selectors``. Approving freezes the cases as they stand,
renders the PDF once (kept with its SHA-256, so the document sent is the document approved) and
writes the referral on each case's timeline, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from agencies.models import Agency, DomesticBody
from audit.models import AuditEntry
from audit.services import record
from casework.selectors import works_here
from disputes import services as domain
from disputes.services import agency_today
from odr.errors import InvalidInput, NotAllowed

from . import documents, selectors
from .models import EnforcementReferral

User = get_user_model()
MAX_RECOMMENDATION = 5000


def prepare_referral(
    *,
    agency: Agency,
    by: User,
    merchant_key: str,
    authority: DomesticBody,
    recommendation: str,
    filed_from: dt.date,
    filed_to: dt.date,
    include_withdrawn: bool = False,
) -> EnforcementReferral:
    """A caseworker or supervisor of the agency drafts a referral about one merchant, listing
    the agency's disputes against it filed in a period (days on the agency's calendar, both
    included; withdrawn ones only if asked); a supervisor decides."""
    if not works_here(by, agency):
        raise NotAllowed(_("Only caseworkers of this agency may do this."), code="not_a_caseworker")
    recommendation = recommendation.strip()
    if not recommendation:
        raise InvalidInput(_("Write the recommendation."), code="recommendation_missing")
    if len(recommendation) > MAX_RECOMMENDATION:
        raise InvalidInput(
            _("Keep the recommendation under %(count)d characters.")
            % {"count": MAX_RECOMMENDATION},
            code="text_too_long",
        )
    if authority.country_id != agency.country_id:
        raise InvalidInput(
            _("Address the referral to an authority in this agency's country."),
            code="authority_abroad",
        )
    if filed_from > filed_to:
        raise InvalidInput(
            _("The period must start on or before the day it ends."), code="bad_period"
        )
    # Read once, one past the limit: the cases counted are the cases listed.
    cases = list(
        selectors.cases_filed_in(
            agency, merchant_key, filed_from, filed_to, include_withdrawn=include_withdrawn
        ).values_list("pk", flat=True)[: selectors.MAX_CASES + 1]
    )
    if not cases:
        raise InvalidInput(
            _("No case of this agency against this merchant was filed in that period."),
            code="no_cases",
        )
    if len(cases) > selectors.MAX_CASES:
        raise InvalidInput(
            _("A referral lists at most %(count)d cases; choose a shorter period.")
            % {"count": selectors.MAX_CASES},
            code="too_many_cases",
        )
    name = selectors.merchant_name(agency, merchant_key)
    with transaction.atomic():
        referral = EnforcementReferral.objects.create(
            agency=agency,
            number=_next_number(agency),
            merchant_key=merchant_key,
            merchant_name=name[:200],
            authority=authority,
            recommendation=recommendation,
            language=selectors.referral_language(agency),
            prepared_by=by,
        )
        referral.disputes.add(*cases)
        _audit(by, referral, "prepared")
    return referral


def _audit(by: User, referral: EnforcementReferral, what: str) -> None:
    record(by, AuditEntry.Action.CHANGE, "enforcement_referral", referral.pk, referral.number, what)


def _next_number(agency: Agency) -> str:
    """BPKN-ENF-2026-0001: numbered per agency and year, under a lock on the agency's row."""
    Agency.objects.select_for_update().filter(pk=agency.pk).first()
    year = agency_today(agency).year
    prefix = f"{agency.reference_prefix}-ENF-{year}-"
    last = (
        EnforcementReferral.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return f"{prefix}{int(last.rsplit('-', 1)[1]) + 1 if last else 1:04d}"


def decide_referral(
    referral: EnforcementReferral, *, by: User, agency: Agency, approve: bool, note: str = ""
) -> EnforcementReferral:
    """A supervisor other than the one who prepared it approves (the cases are frozen, the PDF
    is made and the referral written on each case) or declines with a reason."""
    if not (works_here(by, agency) and selectors.may_approve(by)):
        raise NotAllowed(
            _("Only a supervisor may approve an enforcement referral."), code="not_a_supervisor"
        )
    note = note.strip()
    if not approve and not note:
        raise InvalidInput(_("Say why the referral is declined."), code="reason_missing")
    with transaction.atomic():
        referral = (
            EnforcementReferral.objects.select_for_update()
            .select_related("agency", "authority", "prepared_by")
            .get(pk=referral.pk, agency=agency)
        )
        if not referral.is_draft:
            raise InvalidInput(
                _("This referral was already decided."), code="referral_already_decided"
            )
        if referral.prepared_by_id == by.pk:
            raise NotAllowed(
                _("Another supervisor must approve a referral you prepared."), code="four_eyes"
            )
        referral.state = (
            EnforcementReferral.State.APPROVED if approve else EnforcementReferral.State.DECLINED
        )
        referral.decided_by = by
        referral.decided_at = timezone.now()
        referral.decision_note = note
        if approve:
            disputes = list(referral.disputes.select_related("home_agency").order_by("filed_at"))
            referral.cases = documents.frozen_cases(referral, disputes)
            referral.pdf = documents.referral_pdf(referral)
            referral.pdf_sha256 = hashlib.sha256(referral.pdf).hexdigest()
            actor = domain.Actor.caseworker(by)
            with translation.override(referral.language):
                authority = str(referral.authority.name)
            for dispute in disputes:
                domain.record_enforcement_referral(
                    dispute,
                    actor=actor,
                    number=referral.number,
                    authority=authority,
                    language=referral.language,
                )
        referral.save()
        _audit(by, referral, referral.state)
    return referral
