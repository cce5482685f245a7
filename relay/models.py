"""Case packets on their way out (the outbox) and on their way in (the inbox).

The database is the source of truth for delivery: an outbound packet row is written in the same
transaction as the domain change it carries, and Celery only ever gets its id.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency


class PacketType(models.TextChoices):
    DISPUTE_FORWARD = "dispute.forward", _("Dispute forwarded")
    DISPUTE_MESSAGE = "dispute.message", _("Message")
    DISPUTE_DOCUMENT = "dispute.document", _("Document")
    DISPUTE_STATUS = "dispute.status", _("Status change")
    DISPUTE_OUTCOME = "dispute.outcome", _("Outcome")
    PARTNER_PING = "partner.ping", _("Ping")
    PARTNER_KEYS = "partner.keys", _("Key rotation")


class OutboundPacket(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent, awaiting receipt")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        REFUSED = "refused", _("Refused by the partner")
        DEAD = "dead", _("Dead-lettered")

    pid = models.CharField(_("packet id"), max_length=26, unique=True)
    type = models.CharField(_("type"), max_length=30, choices=PacketType.choices)
    recipient = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("recipient")
    )
    mou_reference = models.CharField(_("MoU"), max_length=60)
    dispute = models.ForeignKey(
        "disputes.Dispute",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="outbound_packets",
        verbose_name=_("dispute"),
    )
    dispute_reference = models.CharField(_("dispute reference"), max_length=30, blank=True)
    seq = models.PositiveIntegerField(_("sequence number"), null=True, blank=True)
    language = models.CharField(_("content language"), max_length=10, blank=True)
    body = models.JSONField(_("body"))
    event = models.ForeignKey(
        "disputes.TimelineEvent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("timeline event"),
    )
    # Signed with this key instead of the newest one (a key rotation is announced with the key
    # the partner already trusts).
    signing_kid = models.CharField(_("signing key"), max_length=100, blank=True)
    # Delivery lane: a dispute's packets always share one, and each lane of a partner has one
    # delivery loop at a time, so they leave in order while lanes go in parallel.
    lane = models.PositiveSmallIntegerField(_("delivery lane"), default=0)

    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.QUEUED)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    deadline_at = models.DateTimeField(_("deliver by"))
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    # The exact bytes sent, kept so that every retry sends the same packet the receipt covers.
    sealed = models.TextField(_("sealed packet (compact JWE)"), blank=True)
    sealed_sha256 = models.CharField(_("SHA-256 of the sealed packet"), max_length=64, blank=True)
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    receipt = models.TextField(_("receipt (compact JWS)"), blank=True)
    receipt_status = models.CharField(_("receipt status"), max_length=10, blank=True)
    receipt_code = models.CharField(_("receipt code"), max_length=50, blank=True)
    receipt_at = models.DateTimeField(_("receipt time"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound packet")
        verbose_name_plural = _("outbound packets")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["dispute_reference", "recipient", "seq"],
                condition=Q(seq__isnull=False),
                name="outbound_seq_once_per_dispute_and_direction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pid} {self.type} → {self.recipient.code}"


class InboundStream(models.Model):
    """How far the packets of one dispute from one sender have been applied, in order."""

    sender = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    dispute_reference = models.CharField(max_length=30)
    last_seq = models.PositiveIntegerField(default=0)
    # The highest sequence number stored so far: above last_seq only while packets wait for an
    # earlier one, so an in-order packet knows without a query that nothing waits behind it.
    highest_seq = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("inbound sequence")
        verbose_name_plural = _("inbound sequences")
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "dispute_reference"], name="one_stream_per_sender_dispute"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sender.code} {self.dispute_reference} @ {self.last_seq}"


class InboundPacket(models.Model):
    """An authenticated packet that passed every check up to the replay check."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting for an earlier packet")
        APPLIED = "applied", _("Applied")
        REFUSED = "refused", _("Refused")

    pid = models.CharField(_("packet id"), max_length=26, unique=True)
    type = models.CharField(_("type"), max_length=30)
    sender = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("sender")
    )
    mou_reference = models.CharField(_("MoU"), max_length=60)
    dispute_reference = models.CharField(_("dispute reference"), max_length=30, blank=True)
    seq = models.PositiveIntegerField(_("sequence number"), null=True, blank=True)
    language = models.CharField(_("content language"), max_length=10, blank=True)
    issued_at = models.DateTimeField(_("issued"))
    expires_at = models.DateTimeField(_("expires"))
    # The sender's signed JWS (decrypted): with the sender's public key it proves what was sent.
    signed = models.TextField(_("signed packet (compact JWS)"))
    raw_sha256 = models.CharField(_("SHA-256 of the packet as received"), max_length=64)
    state = models.CharField(_("state"), max_length=20, choices=State.choices)
    code = models.CharField(_("code"), max_length=50, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)
    receipt = models.TextField(_("receipt (compact JWS)"))
    http_status = models.PositiveSmallIntegerField(_("HTTP status"))

    class Meta:
        verbose_name = _("inbound packet")
        verbose_name_plural = _("inbound packets")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "dispute_reference", "seq"],
                condition=Q(seq__isnull=False),
                name="inbound_seq_once_per_dispute_and_sender",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pid} {self.type} ← {self.sender.code}"


class InboxRefusal(models.Model):
    """A packet refused before it could be trusted or placed (bad crypto, scope, expiry, order).

    Kept apart from InboundPacket: these never count as "seen" for replay protection, so a
    packet the sender fixes and sends again is judged afresh.
    """

    received_at = models.DateTimeField(_("received"), default=timezone.now)
    raw_sha256 = models.CharField(_("SHA-256 of the packet as received"), max_length=64)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    pid = models.CharField(_("claimed packet id"), max_length=26, blank=True)
    sender_code = models.CharField(_("claimed sender"), max_length=20, blank=True)
    type = models.CharField(_("claimed type"), max_length=30, blank=True)
    dispute_reference = models.CharField(_("claimed dispute"), max_length=30, blank=True)
    # Whether the claims above were read from a packet whose signature verified.
    authenticated = models.BooleanField(_("signature verified"), default=False)
    code = models.CharField(_("code"), max_length=50)
    detail = models.TextField(_("detail"), blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"))
    receipt = models.TextField(_("receipt (compact JWS)"), blank=True)

    class Meta:
        verbose_name = _("refused incoming packet")
        verbose_name_plural = _("refused incoming packets")
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M} {self.code} {self.pid or self.raw_sha256[:12]}"
