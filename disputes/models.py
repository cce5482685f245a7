"""Cross-border consumer disputes, their evidence, messages and timeline."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from agencies.models import Agency, Category, Country, DomesticBody, MoU

currency_validator = RegexValidator(r"^[A-Z]{3}$", _("Use the three-letter ISO 4217 code."))
language_validator = RegexValidator(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", _("Use a language code."))


class ProblemType(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("problem type")
        verbose_name_plural = _("problem types")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class Remedy(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("remedy")
        verbose_name_plural = _("remedies")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    CLARIFICATION_REQUESTED = "clarification_requested", _("Clarification requested")
    OUT_OF_SCOPE = "out_of_scope", _("Out of scope, referred")
    FORWARDED = "forwarded", _("Forwarded to partner agency")
    ACCEPTED_BY_PARTNER = "accepted_by_partner", _("Accepted by partner agency")
    MERCHANT_CONTACTED = "merchant_contacted", _("Merchant contacted")
    NEGOTIATION = "negotiation", _("Negotiation")
    MEDIATION = "mediation", _("Mediation")
    SETTLED = "settled", _("Settled")
    NOT_SETTLED = "not_settled", _("Not settled")
    REFERRED_TO_ADJUDICATION = "referred_to_adjudication", _("Referred to adjudication")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    CLOSED = "closed", _("Closed")


class IntakeChannel(models.TextChoices):
    WEB = "web", _("Web form")
    EMAIL = "email", _("Email")
    WHATSAPP = "whatsapp", _("WhatsApp")
    LETTER = "letter", _("Letter")
    WALK_IN = "walk_in", _("Walk-in")
    PHONE = "phone", _("Phone")
    API = "api", _("API")


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Credit or debit card")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    E_WALLET = "e_wallet", _("E-wallet")
    MARKETPLACE = "marketplace", _("Marketplace payment")
    CASH_ON_DELIVERY = "cash_on_delivery", _("Cash on delivery")
    OTHER = "other", _("Other")


class ReferenceCounter(models.Model):
    """The last dispute number an agency issued in a year; rows are locked while numbering."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "year"], name="one_counter_per_agency_year")
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} {self.year}: {self.last_number}"


class Merchant(models.Model):
    """A merchant as this node knows it, recorded once and reused by later disputes against it.

    ``key`` is the normalised identity: ``web:<domain>`` for a web shop, ``shop:<marketplace>:<id>``
    for a marketplace shop (see ``disputes.services.merchant_key``).
    """

    key = models.CharField(_("identity"), max_length=300, unique=True)
    name = models.CharField(_("merchant name"), max_length=200)
    web_domain = models.CharField(_("web domain"), max_length=253, blank=True)
    marketplace = models.CharField(_("marketplace"), max_length=100, blank=True)
    shop_id = models.CharField(_("shop id on the marketplace"), max_length=100, blank=True)
    contact_email = models.EmailField(_("contact email"))
    language = models.CharField(_("language"), max_length=10, validators=[language_validator])
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="+", verbose_name=_("country")
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(web_domain="") | (~Q(marketplace="") & ~Q(shop_id="")),
                name="merchant_has_domain_or_shop",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class RemedyKind(models.TextChoices):
    REFUND = "refund", _("Refund")
    REPLACEMENT = "replacement", _("Replacement")
    REPAIR = "repair", _("Repair")
    OTHER = "other", _("Other")


class Receipt(models.TextChoices):
    RECEIVED = "received", _("Received")
    NOT_RECEIVED = "not_received", _("Not received")


class Dispute(models.Model):
    reference = models.CharField(
        _("reference"),
        max_length=30,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9]{2,10}-\d{4}-\d{6}$")],
    )
    home_agency = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        related_name="home_disputes",
        verbose_name=_("home agency"),
    )
    partner_agency = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        related_name="partner_disputes",
        null=True,
        blank=True,
        verbose_name=_("partner agency"),
    )
    mou = models.ForeignKey(
        MoU,
        on_delete=models.PROTECT,
        related_name="disputes",
        null=True,
        blank=True,
        verbose_name=_("MoU"),
    )

    # The consumer: only what the agencies need to handle the case and reach them.
    consumer_name = models.CharField(_("consumer name"), max_length=200)
    consumer_email = models.EmailField(_("consumer email"))
    consumer_phone = models.CharField(_("consumer phone"), max_length=40, blank=True)
    consumer_country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="+", verbose_name=_("country of residence")
    )
    consumer_language = models.CharField(
        _("preferred language"), max_length=10, validators=[language_validator]
    )

    merchant_name = models.CharField(_("merchant name"), max_length=200)
    merchant_website = models.CharField(
        _("merchant website or marketplace shop"), max_length=500, blank=True
    )
    merchant_country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant country")
    )
    merchant_contact = models.CharField(_("merchant contact"), max_length=300, blank=True)
    # Who the merchant is, normalised so that disputes against it can be grouped (merchant
    # watch): "web:<domain>" or "shop:<marketplace>:<shop id>" as ``Merchant.key``; blank when
    # the filing names no web address. Derived on each node from the website (no packet field).
    merchant_key = models.CharField(_("merchant identity"), max_length=300, blank=True)

    purchase_date = models.DateField(_("purchase date"))
    order_number = models.CharField(_("order number"), max_length=100, blank=True)
    amount = models.DecimalField(
        _("amount paid"), max_digits=18, decimal_places=2, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(_("currency"), max_length=3, validators=[currency_validator])
    payment_method = models.CharField(
        _("payment method"), max_length=30, choices=PaymentMethod.choices
    )
    platform = models.CharField(_("platform or marketplace"), max_length=200, blank=True)

    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="disputes", verbose_name=_("category")
    )
    problem_types = models.ManyToManyField(
        ProblemType, related_name="disputes", verbose_name=_("problems")
    )
    desired_remedy = models.ForeignKey(
        Remedy, on_delete=models.PROTECT, related_name="disputes", verbose_name=_("remedy sought")
    )
    consumer_account = models.TextField(_("what happened, in the consumer's words"))
    filing_language = models.CharField(
        _("language of filing"), max_length=10, validators=[language_validator]
    )
    intake_channel = models.CharField(
        _("intake channel"), max_length=20, choices=IntakeChannel.choices
    )

    status = models.CharField(
        _("status"), max_length=30, choices=Status.choices, default=Status.SUBMITTED
    )
    status_changed_at = models.DateTimeField(_("status changed"), default=timezone.now)
    filed_at = models.DateTimeField(_("filed"), default=timezone.now)

    # Deadlines in working days of the agency that must act next, recomputed at each stage.
    review_due_on = models.DateField(_("review due"), null=True, blank=True)
    acknowledge_due_on = models.DateField(_("partner acknowledgement due"), null=True, blank=True)
    merchant_contact_due_on = models.DateField(_("merchant contact due"), null=True, blank=True)
    resolution_due_on = models.DateField(_("resolution due"), null=True, blank=True)

    referred_to = models.ForeignKey(
        DomesticBody,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("referred to"),
    )
    referral_reason = models.TextField(_("reason for referral"), blank=True)
    outcome_summary = models.TextField(_("outcome"), blank=True)
    settlement_amount = models.DecimalField(
        _("settlement amount"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    settlement_currency = models.CharField(_("settlement currency"), max_length=3, blank=True)
    settlement_proposal = models.TextField(_("proposed settlement"), blank=True)
    settlement_proposed_at = models.DateTimeField(_("settlement proposed"), null=True, blank=True)
    # Bumped to revoke every tracking link issued so far.
    tracking_link_version = models.PositiveIntegerField(default=1)

    # The merchant taking part through their own link (negotiation), and the settlement's terms.
    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.PROTECT,
        related_name="disputes",
        null=True,
        blank=True,
        verbose_name=_("merchant on record"),
    )
    # Bumped to revoke every merchant link issued so far; 0: the merchant was never invited.
    merchant_link_version = models.PositiveIntegerField(default=0)
    merchant_invited_at = models.DateTimeField(_("merchant invited"), null=True, blank=True)
    merchant_reply_due_on = models.DateField(_("merchant reply due"), null=True, blank=True)
    # The reply deadline a reminder was sent for: set by one conditional update, so never twice.
    merchant_reminded_for = models.DateField(_("merchant reminded"), null=True, blank=True)
    merchant_replied_at = models.DateTimeField(_("merchant replied"), null=True, blank=True)
    settlement_remedy = models.CharField(
        _("remedy agreed"), max_length=20, choices=RemedyKind.choices, blank=True
    )
    settlement_due_on = models.DateField(_("to be carried out by"), null=True, blank=True)
    settlement_performed_on = models.DateField(_("carried out on"), null=True, blank=True)
    settlement_performance_note = models.TextField(_("how it was carried out"), blank=True)
    consumer_receipt = models.CharField(
        _("the consumer says"), max_length=20, choices=Receipt.choices, blank=True
    )

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-filed_at"]
        permissions = [("handle_dispute", _("Can handle disputes as a caseworker"))]
        indexes = [
            models.Index(fields=["status", "filed_at"]),
            models.Index(fields=["home_agency", "status"]),
            models.Index(fields=["partner_agency", "status"]),
            # The merchant watch counts an agency's disputes from these indexes alone: one
            # merchant's (the queue's repeat flag, its page), and a window's, per merchant (the
            # merchants page). Measured in bench/queue.py (docs/performance.md).
            models.Index(
                fields=["merchant_key", "filed_at"],
                include=["home_agency", "partner_agency", "status"],
                name="dispute_merchant_watch",
                condition=~Q(merchant_key=""),
            ),
            models.Index(
                fields=["filed_at"],
                include=["merchant_key", "home_agency", "partner_agency", "status"],
                name="dispute_merchant_window",
                condition=~Q(merchant_key=""),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="dispute_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(mou__isnull=True) | Q(partner_agency__isnull=False),
                name="dispute_mou_needs_partner",
            ),
            models.CheckConstraint(
                condition=~Q(partner_agency=models.F("home_agency")),
                name="dispute_partner_is_not_home",
            ),
            models.CheckConstraint(
                condition=Q(settlement_amount__isnull=True) | Q(settlement_amount__gte=0),
                name="dispute_settlement_amount_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL_STATUSES

    @property
    def handled_here_as_home(self) -> bool:
        return self.home_agency.code == settings.ODR_NODE


TERMINAL_STATUSES = frozenset({Status.WITHDRAWN, Status.CLOSED})


def evidence_path(instance: Evidence, filename: str) -> str:
    # The stored name is the content hash: the consumer's file name never touches the disk.
    return f"evidence/{instance.dispute.reference}/{instance.sha256}"


class Evidence(models.Model):
    class UploadedBy(models.TextChoices):
        CONSUMER = "consumer", _("Consumer")
        HOME_AGENCY = "home_agency", _("Home agency")
        PARTNER_AGENCY = "partner_agency", _("Partner agency")
        MERCHANT = "merchant", _("Merchant")

    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("dispute")
    )
    file = models.FileField(_("file"), upload_to=evidence_path, max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    content_type = models.CharField(_("detected content type"), max_length=100)
    uploaded_by = models.CharField(_("uploaded by"), max_length=20, choices=UploadedBy.choices)
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        ordering = ["dispute", "uploaded_at"]
        constraints = [
            models.UniqueConstraint(fields=["dispute", "sha256"], name="evidence_once_per_dispute")
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:12]})"


class Message(models.Model):
    """A message on the case: consumer, caseworkers of either agency, or the merchant via them."""

    class Author(models.TextChoices):
        CONSUMER = "consumer", _("Consumer")
        HOME_AGENCY = "home_agency", _("Home agency")
        PARTNER_AGENCY = "partner_agency", _("Partner agency")
        MERCHANT = "merchant", _("Merchant")

    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="messages", verbose_name=_("dispute")
    )
    author_kind = models.CharField(
        pgettext_lazy("message sender", "from"), max_length=20, choices=Author.choices
    )
    author_name = models.CharField(_("author"), max_length=200, blank=True)
    body = models.TextField(_("message"))
    language = models.CharField(_("language"), max_length=10, validators=[language_validator])
    visible_to_consumer = models.BooleanField(_("shown to the consumer"), default=True)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    # Identifies the message across nodes, so a relayed copy is never stored twice.
    uid = models.CharField(max_length=40, unique=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["dispute", "sent_at"]

    def __str__(self) -> str:
        return f"{self.dispute.reference} {self.author_kind} {self.sent_at:%Y-%m-%d}"


class Translation(models.Model):
    """A caseworker's translation, kept beside the original words and marked as such."""

    language = models.CharField(_("language"), max_length=10, validators=[language_validator])
    body = models.TextField(_("translation"))
    translated_by = models.CharField(_("translated by"), max_length=200)
    translated_at = models.DateTimeField(_("translated"), default=timezone.now)

    class Meta:
        abstract = True


class MessageTranslation(Translation):
    """A caseworker's translation of a message."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="translations", verbose_name=_("message")
    )

    class Meta:
        verbose_name = _("message translation")
        verbose_name_plural = _("message translations")
        constraints = [
            models.UniqueConstraint(
                fields=["message", "language"], name="one_translation_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.message} → {self.language}"


class TimelineEvent(models.Model):
    class Actor(models.TextChoices):
        CONSUMER = "consumer", _("Consumer")
        HOME_AGENCY = "home_agency", _("Home agency")
        PARTNER_AGENCY = "partner_agency", _("Partner agency")
        MERCHANT = "merchant", _("Merchant")
        SYSTEM = "system", _("System")

    class Kind(models.TextChoices):
        FILED = "filed", _("Filed")
        STATUS_CHANGED = "status_changed", _("Status changed")
        MESSAGE = "message", _("Message")
        DOCUMENT = "document", _("Document")
        DEADLINES = "deadlines", _("Deadlines set")
        PACKET = "packet", _("Case packet")
        NOTE = "note", _("Note")
        ENFORCEMENT = "enforcement", _("Enforcement referral")

    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="timeline", verbose_name=_("dispute")
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.CharField(_("who"), max_length=20, choices=Actor.choices)
    actor_name = models.CharField(_("name"), max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("what"), max_length=20, choices=Kind.choices)
    from_status = models.CharField(_("from status"), max_length=30, blank=True)
    to_status = models.CharField(_("to status"), max_length=30, blank=True)
    text = models.TextField(_("details"), blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    visible_to_consumer = models.BooleanField(_("shown to the consumer"), default=True)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["dispute", "at", "pk"]
        indexes = [models.Index(fields=["dispute", "at"])]

    def __str__(self) -> str:
        return f"{self.dispute.reference} {self.at:%Y-%m-%d %H:%M} {self.kind}"


class AccountTranslation(Translation):
    """A caseworker's translation of the consumer's own account, kept beside it (for the
    merchant, who reads the complaint in their language); the account is never changed."""

    dispute = models.ForeignKey(
        Dispute,
        on_delete=models.CASCADE,
        related_name="account_translations",
        verbose_name=_("dispute"),
    )

    class Meta:
        verbose_name = _("translation of the consumer's account")
        verbose_name_plural = _("translations of the consumer's account")
        constraints = [
            models.UniqueConstraint(
                fields=["dispute", "language"], name="one_account_translation_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dispute.reference} → {self.language}"


class Rating(models.Model):
    """The consumer's rating of the result or of the handling, once each, after the outcome."""

    class Aspect(models.TextChoices):
        RESULT = "result", _("The result")
        HANDLING = "handling", _("The handling")

    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="ratings", verbose_name=_("dispute")
    )
    aspect = models.CharField(_("rated"), max_length=20, choices=Aspect.choices)
    score = models.PositiveSmallIntegerField(_("score (1–5)"))
    comment = models.TextField(_("comment"), blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    rated_at = models.DateTimeField(_("rated"), default=timezone.now)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["dispute", "aspect"]
        constraints = [
            models.UniqueConstraint(fields=["dispute", "aspect"], name="one_rating_per_aspect"),
            models.CheckConstraint(
                condition=Q(score__gte=1) & Q(score__lte=5), name="rating_score_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dispute.reference} {self.aspect}: {self.score}"
