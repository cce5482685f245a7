"""Writes of the caseworker screens beside the dispute's lifecycle: who owns a case, referrals
out of scope waiting for a supervisor, and each person's saved queue views. Permission checks
live here and in selectors, nowhere else."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency, DomesticBody
from audit.services import record_change
from disputes import services as domain
from disputes.models import Dispute
from odr.errors import InvalidInput, NotAllowed

from . import selectors
from .models import Assignment, ReferralRequest, SavedView

User = get_user_model()
MAX_SAVED_VIEWS = 30


def assign_dispute(dispute: Dispute, assignee: User | None, *, by: User, agency: Agency) -> None:
    """Give the case to ``assignee`` (None: back to unassigned).

    A supervisor assigns and reassigns to any caseworker of the agency; a caseworker may only
    take an unassigned case for themselves.
    """
    if not selectors.works_here(by, agency):
        raise NotAllowed(_("Only caseworkers of this agency may do this."), code="not_a_caseworker")
    if assignee is not None and not selectors.works_here(assignee, agency):
        raise InvalidInput(
            _("%(name)s is not a caseworker of this agency.") % {"name": assignee},
            code="not_a_caseworker",
        )
    with transaction.atomic():
        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        current = Assignment.objects.filter(dispute=locked).first()
        if not selectors.may_assign(by):
            taking = assignee is not None and assignee.pk == by.pk and current is None
            if not taking:
                raise NotAllowed(
                    _("Only a supervisor may assign or reassign a case."), code="not_a_supervisor"
                )
        if current is not None and assignee is not None and current.assignee_id == assignee.pk:
            return
        if assignee is None:
            if current is not None:
                current.delete()
            record_change(by, locked, "unassigned")
            return
        Assignment.objects.update_or_create(
            dispute=locked, defaults={"assignee": assignee, "assigned_by": by}
        )
        record_change(by, locked, f"assigned to {assignee.get_username()}")


def save_view(user: User, name: str, query: str) -> SavedView:
    """Keep the queue's current filters under a name; the same name replaces the old filters."""
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the view a name."), code="name_missing")
    if (
        not SavedView.objects.filter(user=user, name=name).exists()
        and SavedView.objects.filter(user=user).count() >= MAX_SAVED_VIEWS
    ):
        raise InvalidInput(
            _("You can keep at most %(count)d saved views.") % {"count": MAX_SAVED_VIEWS},
            code="too_many_views",
        )
    view, _created = SavedView.objects.update_or_create(
        user=user, name=name, defaults={"query": query}
    )
    return view


def delete_view(user: User, view_id: int) -> None:
    """Only the owner's own view is deleted; another person's id deletes nothing."""
    SavedView.objects.filter(user=user, pk=view_id).delete()


def request_referral(
    dispute: Dispute, *, by: User, body: DomesticBody, reason: str, language: str = ""
) -> ReferralRequest:
    """A caseworker proposes referring the case out of scope; a supervisor decides."""
    if not reason.strip():
        raise InvalidInput(_("Give the reason for the referral."), code="reason_missing")
    with transaction.atomic():
        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if ReferralRequest.objects.filter(dispute=locked, decided_at=None).exists():
            raise InvalidInput(
                _("A referral of this case is already waiting for a supervisor."),
                code="referral_pending",
            )
        request = ReferralRequest.objects.create(
            dispute=locked, body=body, reason=reason.strip(), language=language, requested_by=by
        )
        record_change(by, locked, f"referral to {body.code} requested")
    return request


def decide_referral(
    referral: ReferralRequest, *, by: User, agency: Agency, approve: bool
) -> ReferralRequest:
    """A supervisor approves (the referral is made, in the supervisor's name) or declines."""
    if not (selectors.works_here(by, agency) and selectors.may_approve_referrals(by)):
        raise NotAllowed(
            _("Only a supervisor may approve a referral out of scope."), code="not_a_supervisor"
        )
    with transaction.atomic():
        referral = ReferralRequest.objects.select_for_update().get(pk=referral.pk)
        if referral.decided_at is not None:
            raise InvalidInput(
                _("This referral was already decided."), code="referral_already_decided"
            )
        if approve:
            domain.refer_out_of_scope(
                referral.dispute,
                actor=domain.Actor.caseworker(by),
                body=referral.body,
                reason=referral.reason,
                language=referral.language,
            )
        referral.decided_by = by
        referral.decided_at = timezone.now()
        referral.approved = approve
        referral.save(update_fields=["decided_by", "decided_at", "approved"])
        record_change(
            by,
            referral.dispute,
            f"referral to {referral.body.code} {'approved' if approve else 'declined'}",
        )
    return referral
