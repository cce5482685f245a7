"""Emails to merchants: one row per invitation or reminder, written with the domain change."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MerchantNotice(models.Model):
    class Kind(models.TextChoices):
        INVITATION = "invitation", _("Invitation")
        REMINDER = "reminder", _("Reminder")

    dispute = models.ForeignKey(
        "disputes.Dispute",
        on_delete=models.CASCADE,
        related_name="merchant_notices",
        verbose_name=_("dispute"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    email = models.EmailField(_("email"))
    language = models.CharField(_("language"), max_length=10)
    # The link version the email carries a link for; a newer invitation makes it moot.
    link_version = models.PositiveIntegerField(_("link version"))
    due_on = models.DateField(_("reply due"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("email to a merchant")
        verbose_name_plural = _("emails to merchants")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["dispute", "link_version"],
                condition=Q(kind="invitation"),
                name="one_invitation_per_link_version",
            ),
            models.UniqueConstraint(
                fields=["dispute", "due_on"],
                condition=Q(kind="reminder"),
                name="one_reminder_per_reply_deadline",
            ),
        ]
        indexes = [
            models.Index(fields=["sent_at"], condition=Q(sent_at__isnull=True), name="notice_due")
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.kind} v{self.link_version}"
