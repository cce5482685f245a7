"""Who works at the agency and who owns which case: membership, assignment, saved queue views."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, DomesticBody
from disputes.models import Dispute


class StaffMember(models.Model):
    """The agency a member of staff works for. A user without one works for this node's agency."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_membership",
        verbose_name=_("user"),
    )
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("agency")
    )

    class Meta:
        verbose_name = _("member of staff")
        verbose_name_plural = _("members of staff")

    def __str__(self) -> str:
        return f"{self.user} ({self.agency_id})"


class Assignment(models.Model):
    """The caseworker who owns a dispute at this agency; no row means unassigned."""

    dispute = models.OneToOneField(
        Dispute,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="assignment",
        verbose_name=_("dispute"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assignments",
        verbose_name=_("assigned to"),
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned by"),
    )
    assigned_at = models.DateTimeField(_("assigned"), default=timezone.now)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        permissions = [
            ("assign_dispute", _("Can assign and reassign disputes")),
            ("see_agency_queue", _("Can see the whole agency's queue and workload")),
        ]
        indexes = [models.Index(fields=["assignee"])]

    def __str__(self) -> str:
        return f"{self.dispute_id} → {self.assignee}"


class SavedView(models.Model):
    """A caseworker's named set of queue filters."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_queue_views",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(_("filters"), max_length=1000)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("saved queue view")
        verbose_name_plural = _("saved queue views")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="one_saved_view_per_name")
        ]

    def __str__(self) -> str:
        return self.name


class DeadlineNotice(models.Model):
    """A reminder before, or an escalation after, one deadline of one dispute.

    The unique constraint makes each exactly one row, however many beat processes and workers
    look at once; ``sent_at`` is set in the transaction that sent its email.
    """

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("Reminder")
        ESCALATION = "escalation", _("Escalation")

    dispute = models.ForeignKey(
        Dispute,
        on_delete=models.CASCADE,
        related_name="deadline_notices",
        verbose_name=_("dispute"),
    )
    deadline = models.CharField(_("deadline"), max_length=40)
    due_on = models.DateField(_("due"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    recipients = models.JSONField(_("recipients"), default=list)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("deadline notice")
        verbose_name_plural = _("deadline notices")
        constraints = [
            models.UniqueConstraint(
                fields=["dispute", "deadline", "due_on", "kind"], name="one_notice_per_deadline"
            )
        ]
        indexes = [
            models.Index(
                fields=["created_at"], name="casework_notice_unsent", condition=Q(sent_at=None)
            )
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.deadline} {self.due_on} {self.kind}"


class ReferralRequest(models.Model):
    """A caseworker's proposal to refer a case out of scope, waiting for a supervisor: approved,
    the referral is made in the supervisor's name; declined, nothing changes."""

    dispute = models.ForeignKey(
        Dispute,
        on_delete=models.CASCADE,
        related_name="referral_requests",
        verbose_name=_("dispute"),
    )
    body = models.ForeignKey(
        DomesticBody, on_delete=models.PROTECT, related_name="+", verbose_name=_("refer to")
    )
    reason = models.TextField(_("reason for referral"))
    language = models.CharField(_("language"), max_length=10)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    approved = models.BooleanField(_("approved"), null=True)

    class Meta:
        verbose_name = _("referral request")
        verbose_name_plural = _("referral requests")
        permissions = [("approve_referral", _("Can approve referrals out of scope"))]
        constraints = [
            models.UniqueConstraint(
                fields=["dispute"],
                condition=Q(decided_at=None),
                name="one_open_referral_request_per_dispute",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id} → {self.body_id}"
