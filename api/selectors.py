"""Reads of the intake API: a client's own disputes, reference data and MoU coverage."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Model, Prefetch, QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _

from agencies.models import Agency, Category, Country, MoU
from agencies.selectors import partner_and_mou, scope_problems
from disputes.models import Dispute, Evidence, PaymentMethod, ProblemType, Remedy, TimelineEvent

from .models import ApiClient


def disputes_of(client: ApiClient) -> QuerySet[Dispute]:
    """Only the disputes this client filed into its own agency: the web's, other clients' and
    other agencies' stay invisible."""
    return (
        Dispute.objects.filter(api_filing__client=client, home_agency_id=client.agency_id)
        .select_related("home_agency", "partner_agency", "category", "desired_remedy")
        .prefetch_related(
            Prefetch(
                "timeline",
                queryset=TimelineEvent.objects.filter(visible_to_consumer=True).order_by(
                    "at", "pk"
                ),
                to_attr="public_timeline",
            ),
            Prefetch(
                "evidence",
                queryset=Evidence.objects.order_by("uploaded_at", "pk"),
                to_attr="evidence_files",
            ),
        )
    )


def dispute_of(client: ApiClient, reference: str) -> Dispute | None:
    return disputes_of(client).filter(reference=reference).first()


def with_public_parts(dispute: Dispute, *, has_evidence: bool = True) -> Dispute:
    """Attach what DisputeSerializer shows to a dispute just written, without fetching it again."""
    recorded = getattr(dispute, "recorded_events", None)
    if recorded is not None:
        # Just filed: file_dispute handed over every event it wrote.
        dispute.public_timeline = sorted(
            (event for event in recorded if event.visible_to_consumer),
            key=lambda event: (event.at, event.pk),
        )
    else:
        dispute.public_timeline = list(
            dispute.timeline.filter(visible_to_consumer=True).order_by("at", "pk")
        )
    dispute.evidence_files = (
        list(dispute.evidence.order_by("uploaded_at", "pk")) if has_evidence else []
    )
    return dispute


# Reference rows by code, kept in each process for a minute: a filing names four to six of them,
# and these tables change only when an administrator edits them (which also clears the cache).
CODE_CACHE_SECONDS = 60
_code_cache: dict[type, tuple[float, dict[str, Model]]] = {}


def by_code(model: type[Model], code: str) -> Model | None:
    """The row of a reference table (Country, Category, ProblemType, Remedy) with this code."""
    now = time.monotonic()
    cached = _code_cache.get(model)
    if cached is None or cached[0] < now:
        cached = (now + CODE_CACHE_SECONDS, {row.code: row for row in model.objects.all()})
        _code_cache[model] = cached
    row = cached[1].get(code)
    if row is None:
        # Added since the cache was filled, or unknown: ask the database.
        row = model.objects.filter(code=code).first()
    return row


def codes_of(model: type[Model]) -> list[str]:
    """Every code of a reference table, for the API schema."""
    return sorted(model.objects.values_list("code", flat=True))


def agency_by_id(agency_id: int) -> Agency:
    """An agency with its country, from the same per-process cache (every request needs one)."""
    now = time.monotonic()
    cached = _code_cache.get(Agency)
    if cached is None or cached[0] < now:
        rows = Agency.objects.select_related("country")
        cached = (now + CODE_CACHE_SECONDS, {row.pk: row for row in rows})
        _code_cache[Agency] = cached
    agency = cached[1].get(agency_id)
    if agency is None:
        agency = Agency.objects.select_related("country").get(pk=agency_id)
    return agency


def forget_codes(sender, **kwargs) -> None:
    _code_cache.pop(sender, None)
    if sender is Country:
        _code_cache.pop(Agency, None)


for _model in (Country, Category, ProblemType, Remedy, Agency):
    post_save.connect(forget_codes, sender=_model, dispatch_uid=f"api-codes-{_model.__name__}")
    post_delete.connect(forget_codes, sender=_model, dispatch_uid=f"api-codes-d-{_model.__name__}")


def reference_data() -> dict:
    """Codes and names (in the active language) that a filing refers to."""
    return {
        "countries": [
            {
                "code": country.code,
                "name": country.name,
                "currency": country.currency,
                "official_languages": country.official_languages,
            }
            for country in Country.objects.order_by("code")
        ],
        "categories": [
            {"code": category.code, "name": category.name}
            for category in Category.objects.order_by("code")
        ],
        "problem_types": [
            {"code": problem.code, "name": problem.name} for problem in ProblemType.objects.all()
        ],
        "remedies": [{"code": remedy.code, "name": remedy.name} for remedy in Remedy.objects.all()],
        "payment_methods": [
            {"code": value, "name": str(label)} for value, label in PaymentMethod.choices
        ],
    }


@dataclass
class Coverage:
    merchant_country: Country
    home_agency: Agency
    domestic: bool = False
    partner_agency: Agency | None = None
    mou: MoU | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return not self.domestic and self.mou is not None and not self.problems


def coverage(
    home: Agency,
    merchant_country: Country,
    *,
    category: Category | None = None,
    amount: Decimal | None = None,
    currency: str = "",
) -> Coverage:
    """Whether the home agency can take a claim against a merchant abroad under an MoU.

    The same selectors decide forwarding (disputes.services.forwarding_problems): the partner
    agency in the merchant's country, the MoU in force with it and the MoU's scope.
    """
    result = Coverage(merchant_country=merchant_country, home_agency=home)
    if merchant_country.pk == home.country_id:
        result.domestic = True
        result.problems.append(
            (
                "domestic",
                _("The merchant is in this agency's own country; no cross-border MoU is needed."),
            )
        )
        return result
    result.partner_agency, result.mou = partner_and_mou(home, merchant_country)
    if result.mou is None:
        result.problems.append(
            ("no_active_mou", _("There is no active MoU with an agency in that country."))
        )
        return result
    if result.partner_agency.status != Agency.Status.ACTIVE:
        result.problems.append(("partner_not_active", _("The partner agency is not active.")))
    problems = scope_problems(
        result.mou,
        category_id=category.pk if category else None,
        amount=amount,
        currency=currency,
    )
    if category is None:
        # Asked without a category: only the amount can be judged.
        problems = [problem for problem in problems if problem[0] != "category_not_covered"]
    result.problems += problems
    return result
