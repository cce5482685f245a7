"""API clients (partner portals, marketplaces), their idempotency records and their filings."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency
from disputes.models import Dispute


class Scope(models.TextChoices):
    DISPUTES_CREATE = "disputes:create", _("File disputes")
    DISPUTES_READ = "disputes:read", _("Read the disputes this client filed")
    EVIDENCE_CREATE = "evidence:create", _("Add evidence to the disputes this client filed")


class ApiClient(models.Model):
    """A system allowed to call the API with a key. Only a hash of the key is kept."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    agency = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        related_name="api_clients",
        verbose_name=_("files into agency"),
    )
    # The first characters of the key, shown in the admin and used to find the row; the rest
    # is only ever compared as a hash.
    key_prefix = models.CharField(_("key prefix"), max_length=16, unique=True)
    key_hash = models.CharField(_("key hash (SHA-256)"), max_length=64)
    scopes = models.JSONField(_("scopes"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    # DRF's throttles and permission checks treat request.user as a user-like object.
    @property
    def is_authenticated(self) -> bool:
        return True


class IdempotencyRecord(models.Model):
    """The first response to a client's Idempotency-Key, replayed for a retried request."""

    client = models.ForeignKey(
        ApiClient, on_delete=models.CASCADE, related_name="idempotency_records"
    )
    key = models.CharField(_("idempotency key"), max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(_("request fingerprint (SHA-256)"), max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "key"], name="idempotency_key_once_per_client"
            )
        ]

    def __str__(self) -> str:
        return f"{self.client_id} {self.key}"


class ApiFiling(models.Model):
    """Which client filed a dispute: clients see only their own filings."""

    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="filings")
    dispute = models.OneToOneField(Dispute, on_delete=models.CASCADE, related_name="api_filing")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("API filing")
        verbose_name_plural = _("API filings")

    def __str__(self) -> str:
        return f"{self.client.name}: {self.dispute.reference}"
