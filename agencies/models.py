"""Who the agencies are, where they work, and the bilateral MoUs under which they exchange cases."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ISO_WEEKDAYS = [1, 2, 3, 4, 5]  # Monday..Friday, ISO numbering (Monday is 1)


def default_working_week() -> list[int]:
    return list(ISO_WEEKDAYS)


class Country(models.Model):
    code = models.CharField(
        _("ISO 3166 code"),
        max_length=2,
        primary_key=True,
        validators=[RegexValidator(r"^[A-Z]{2}$", _("Use the two-letter ISO 3166 code."))],
    )
    name = models.CharField(_("name"), max_length=100)
    currency = models.CharField(
        _("currency"),
        max_length=3,
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use the three-letter ISO 4217 code."))],
    )
    official_languages = models.JSONField(_("official languages"), default=list)
    working_week = models.JSONField(
        _("working days of the week"),
        default=default_working_week,
        help_text=_("ISO weekday numbers: 1 is Monday, 7 is Sunday."),
    )
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC")

    class Meta:
        verbose_name = _("country")
        verbose_name_plural = _("countries")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PublicHoliday(models.Model):
    country = models.ForeignKey(
        Country, on_delete=models.CASCADE, related_name="public_holidays", verbose_name=_("country")
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("public holiday")
        verbose_name_plural = _("public holidays")
        ordering = ["country", "date"]
        constraints = [
            models.UniqueConstraint(fields=["country", "date"], name="holiday_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name} ({self.country_id})"


class Category(models.Model):
    """A category of goods or services, the vocabulary of MoU scope and of disputes."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("category of goods or services")
        verbose_name_plural = _("categories of goods or services")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class DomesticBody(models.Model):
    """A body a dispute can be referred to: a domestic agency, ADR scheme, tribunal or court."""

    class Kind(models.TextChoices):
        CONSUMER_AGENCY = "consumer_agency", _("Consumer protection agency")
        DISPUTE_BODY = "dispute_body", _("Consumer dispute settlement body")
        ADR_SCHEME = "adr_scheme", _("ADR scheme")
        SMALL_CLAIMS = "small_claims", _("Small-claims tribunal")
        COURT = "court", _("Court")
        REGULATOR = "regulator", _("Regulator")
        PLATFORM = "platform", _("Marketplace or payment provider")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="domestic_bodies", verbose_name=_("country")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    website = models.URLField(_("website"), blank=True)
    handles_adjudication = models.BooleanField(
        _("decides disputes"),
        default=False,
        help_text=_("A tribunal, court or binding ADR scheme a dispute can be referred to."),
    )

    class Meta:
        verbose_name = _("domestic body")
        verbose_name_plural = _("domestic bodies")
        ordering = ["country", "name"]

    def __str__(self) -> str:
        return self.name


class Agency(models.Model):
    class Status(models.TextChoices):
        PROSPECTIVE = "prospective", _("Prospective")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    code = models.CharField(
        _("code"),
        max_length=20,
        unique=True,
        validators=[
            RegexValidator(r"^[A-Z]{2}-[A-Z0-9]{2,16}$", _("Use COUNTRY-NAME, e.g. ID-BPKN."))
        ],
    )
    reference_prefix = models.CharField(
        _("dispute reference prefix"),
        max_length=10,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9]{2,10}$")],
        help_text=_("Starts every dispute reference this agency issues, e.g. BPKN."),
    )
    short_name = models.CharField(_("short name"), max_length=30)
    name = models.CharField(_("name"), max_length=200)
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="agencies", verbose_name=_("country")
    )
    languages = models.JSONField(_("working languages"), default=list)
    contact_email = models.EmailField(_("public contact email"), blank=True)
    contact_phone = models.CharField(_("public contact phone"), max_length=40, blank=True)
    website = models.URLField(_("website"), blank=True)
    inbox_url = models.URLField(
        _("relay inbox URL"), blank=True, help_text=_("Where case packets for this agency go.")
    )
    review_deadline_days = models.PositiveSmallIntegerField(
        _("working days to review a new dispute"), default=5
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PROSPECTIVE
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.short_name} ({self.code})"

    @property
    def is_this_node(self) -> bool:
        return self.code == settings.ODR_NODE


class AgencyKey(models.Model):
    """One public key of an agency, pinned at onboarding. Private keys never enter the database."""

    class Use(models.TextChoices):
        SIGNING = "sig", _("Signing")
        ENCRYPTION = "enc", _("Encryption")

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="keys", verbose_name=_("agency")
    )
    kid = models.CharField(_("key id"), max_length=100, unique=True)
    use = models.CharField(_("use"), max_length=3, choices=Use.choices)
    public_jwk = models.JSONField(_("public JWK"))
    not_before = models.DateTimeField(_("valid from"), default=timezone.now)
    not_after = models.DateTimeField(_("valid until"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revocation_reason = models.TextField(_("why it was revoked"), blank=True)
    created_at = models.DateTimeField(_("pinned"), auto_now_add=True)
    # When administrators were last warned that this key's validity ends soon.
    expiry_warned_at = models.DateTimeField(_("expiry warning sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("agency key")
        verbose_name_plural = _("agency keys")
        ordering = ["agency", "use", "-not_before"]

    def __str__(self) -> str:
        return f"{self.agency.code} {self.use} {self.kid}"

    def is_valid_at(self, moment) -> bool:
        return (
            self.revoked_at is None
            and self.not_before <= moment
            and (self.not_after is None or moment < self.not_after)
        )


class MoU(models.Model):
    """A bilateral memorandum of understanding between two agencies.

    The pair is stored in a fixed order (lower id first) so that "one active MoU per pair" is a
    plain partial unique index whichever agency the administrator named first.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")

    class Stage(models.TextChoices):
        MERCHANT_CONTACT = "merchant_contact", _("Contacting the merchant")
        NEGOTIATION = "negotiation", _("Negotiation")
        MEDIATION = "mediation", _("Mediation")

    reference = models.CharField(_("reference"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=200)
    agency_a = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("first party")
    )
    agency_b = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("second party")
    )
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    effective_from = models.DateField(_("effective from"), null=True, blank=True)
    effective_until = models.DateField(_("effective until"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    categories = models.ManyToManyField(
        Category,
        blank=True,
        related_name="mous",
        verbose_name=_("categories covered"),
        help_text=_("Leave empty to cover every category."),
    )
    max_claim_amount = models.DecimalField(
        _("maximum claim value"),
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    max_claim_currency = models.CharField(_("currency of the maximum"), max_length=3, blank=True)
    partner_stages = models.JSONField(
        _("stages the partner handles"),
        default=list,
        help_text=_("Any of merchant_contact, negotiation, mediation."),
    )
    languages = models.JSONField(_("languages of exchange"), default=list)
    acknowledge_days = models.PositiveSmallIntegerField(_("working days to acknowledge"), default=5)
    merchant_contact_days = models.PositiveSmallIntegerField(
        _("working days to first merchant contact"), default=10
    )
    resolution_days = models.PositiveSmallIntegerField(_("working days to resolve"), default=60)
    merchant_reply_days = models.PositiveSmallIntegerField(
        _("working days the merchant has to reply"),
        default=7,
        help_text=_("Counted on the partner agency's calendar from the merchant's invitation."),
    )
    relay_deadline_hours = models.PositiveSmallIntegerField(
        _("hours a packet may take to deliver before it is dead-lettered"), default=72
    )
    document = models.FileField(_("signed document"), upload_to="mou-documents/%Y/", blank=True)
    default_team = models.ForeignKey(
        "auth.Group",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default team"),
        help_text=_("The staff group that handles cases exchanged under this MoU by default."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # After termination, packets for cases already shared are still accepted until this time.
    packets_accepted_until = models.DateTimeField(
        _("packets for open cases accepted until"), null=True, blank=True
    )
    # The connectivity check: the partner's signed answer to our last partner.ping.
    last_pong_at = models.DateTimeField(_("last answered ping"), null=True, blank=True)
    last_ping_rtt_ms = models.PositiveIntegerField(
        _("round-trip time of the last ping (ms)"), null=True, blank=True
    )
    # The state of this MoU on the partner's node, as its last ping told us.
    partner_state = models.CharField(_("state at the partner"), max_length=20, blank=True)
    partner_state_reason = models.TextField(_("reason given by the partner"), blank=True)
    partner_state_at = models.DateTimeField(_("state at the partner as of"), null=True, blank=True)

    class Meta:
        verbose_name = _("MoU")
        verbose_name_plural = _("MoUs")
        ordering = ["reference"]
        constraints = [
            models.CheckConstraint(
                condition=Q(agency_a__lt=F("agency_b")), name="mou_parties_ordered_and_distinct"
            ),
            models.UniqueConstraint(
                fields=["agency_a", "agency_b"],
                condition=Q(status="active"),
                name="one_active_mou_per_agency_pair",
            ),
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True)
                | Q(effective_from__isnull=True)
                | Q(effective_until__gte=F("effective_from")),
                name="mou_effective_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(max_claim_amount__isnull=True) | ~Q(max_claim_currency=""),
                name="mou_max_claim_has_currency",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def partner_of(self, agency: Agency) -> Agency:
        if agency.pk == self.agency_a_id:
            return self.agency_b
        if agency.pk == self.agency_b_id:
            return self.agency_a
        raise ValueError(f"{agency.code} is not a party to {self.reference}")

    def is_party(self, agency: Agency) -> bool:
        return agency.pk in (self.agency_a_id, self.agency_b_id)


class MoUStatusChange(models.Model):
    mou = models.ForeignKey(
        MoU, on_delete=models.CASCADE, related_name="status_changes", verbose_name=_("MoU")
    )
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("MoU status change")
        verbose_name_plural = _("MoU status changes")
        ordering = ["mou", "changed_at"]

    def __str__(self) -> str:
        return f"{self.mou.reference}: {self.from_status or '-'} → {self.to_status}"


class ExchangeRate(models.Model):
    """Reference rate used only to check a claim against an MoU's maximum claim value."""

    currency = models.CharField(_("currency"), max_length=3)
    per_usd = models.DecimalField(
        _("units per US dollar"), max_digits=18, decimal_places=6, validators=[MinValueValidator(0)]
    )
    as_of = models.DateField(_("as of"))

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-as_of"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "as_of"], name="one_rate_per_day"),
            models.CheckConstraint(condition=Q(per_usd__gt=0), name="rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.per_usd}/USD ({self.as_of})"
