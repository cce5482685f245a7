"""Enforcement referrals: an agency's recommendation to an authority (e.g. BPKN's to the
communications ministry to block a site) about one merchant, listing its disputes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, DomesticBody
from disputes.models import Dispute


class EnforcementReferral(models.Model):
    """Prepared by a caseworker or supervisor as a draft, decided by another supervisor.

    Approved, the list of cases is frozen (``cases``), the PDF is rendered once and kept with its
    SHA-256, and the referral is written on each case's timeline. A draft can be changed and its
    PDF previewed; a decided referral never changes.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft, waiting for a supervisor")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("agency")
    )
    number = models.CharField(_("number"), max_length=40, unique=True)
    merchant_key = models.CharField(_("merchant identity"), max_length=300)
    merchant_name = models.CharField(_("merchant name"), max_length=200)
    authority = models.ForeignKey(
        DomesticBody, on_delete=models.PROTECT, related_name="+", verbose_name=_("addressed to")
    )
    recommendation = models.TextField(_("recommendation"))
    language = models.CharField(_("language of the referral"), max_length=10)
    disputes = models.ManyToManyField(
        Dispute, related_name="enforcement_referrals", verbose_name=_("disputes")
    )
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.DRAFT)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("prepared by"),
    )
    prepared_at = models.DateTimeField(_("prepared"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.TextField(_("supervisor's note"), blank=True)
    # Frozen at approval: what the PDF lists, as it stood then.
    cases = models.JSONField(_("cases as referred"), default=list, blank=True)
    pdf = models.BinaryField(_("PDF"), null=True, blank=True, editable=False)
    pdf_sha256 = models.CharField(_("PDF SHA-256"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("enforcement referral")
        verbose_name_plural = _("enforcement referrals")
        ordering = ["-prepared_at"]
        permissions = [
            ("approve_enforcement_referral", _("Can approve enforcement referrals")),
        ]
        constraints = [
            # Four eyes: whoever prepared a referral does not approve it.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("prepared_by")),
                name="enforcement_referral_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(state="draft", decided_at__isnull=True)
                | Q(state__in=["approved", "declined"], decided_at__isnull=False),
                name="enforcement_referral_decided_when_not_draft",
            ),
            models.CheckConstraint(
                condition=~Q(state="approved") | ~Q(pdf_sha256=""),
                name="enforcement_referral_approved_has_pdf",
            ),
        ]
        indexes = [models.Index(fields=["agency", "merchant_key"])]

    def __str__(self) -> str:
        return f"{self.number} {self.merchant_name}"

    @property
    def is_draft(self) -> bool:
        return self.state == self.State.DRAFT
