"""What the consumer portal keeps: unfinished drafts, their staged files, and sent emails."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from disputes.models import Dispute, TimelineEvent

DRAFT_LIFETIME = dt.timedelta(days=30)


def new_draft_id() -> str:
    return secrets.token_urlsafe(32)


def draft_expiry() -> dt.datetime:
    return timezone.now() + DRAFT_LIFETIME


class Draft(models.Model):
    """A dispute being written; found again only through the signed cookie holding its id."""

    id = models.CharField(primary_key=True, max_length=64, default=new_draft_id, editable=False)
    # Raw form input per step ({"you": {"consumer_name": ["Dewi"]}}), kept even when invalid so
    # that nothing the consumer typed is lost.
    data = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=draft_expiry, db_index=True)

    class Meta:
        verbose_name = _("draft dispute")
        verbose_name_plural = _("draft disputes")

    def __str__(self) -> str:
        return f"draft {self.id[:8]}… ({self.updated_at:%Y-%m-%d})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


def staged_file_path(instance: StagedFile, filename: str) -> str:
    return f"drafts/{instance.draft_id}/{instance.sha256}"


class StagedFile(models.Model):
    """Evidence uploaded to a draft, already checked by content, waiting for the filing."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to=staged_file_path, max_length=300)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "sha256"], name="staged_file_once_per_draft")
        ]

    def __str__(self) -> str:
        return self.original_name


class Notification(models.Model):
    """One email to the consumer about one timeline event; the constraint stops a second one."""

    class Kind(models.TextChoices):
        FILING_RECEIPT = "filing_receipt", _("Filing receipt")
        STATUS_CHANGED = "status_changed", _("Status changed")
        MESSAGE = "message", _("New message")
        DOCUMENT = "document", _("New document")
        SETTLEMENT_PROPOSED = "settlement_proposed", _("Settlement proposed")
        UPDATE = "update", _("Update")

    event = models.ForeignKey(TimelineEvent, on_delete=models.CASCADE, related_name="+")
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    email = models.EmailField()
    language = models.CharField(max_length=10)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # When the sender may try it (again): now for a new row, later after a failure (backoff).
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "kind"], name="one_notification_per_event")
        ]
        # The sender's claim and the sweep's EXISTS: unsent rows in next_attempt_at order.
        indexes = [models.Index(fields=["sent_at", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.kind} {'sent' if self.sent_at else 'pending'}"


DRAFT_COOKIE_MAX_AGE = int(DRAFT_LIFETIME.total_seconds())


def draft_cookie_name() -> str:
    return f"odr_draft_{settings.ODR_NODE.lower().replace('-', '_')}"
