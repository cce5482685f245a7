"""Reads for the consumer portal: the visitor's draft, scope advice and the consumer's view."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core import signing
from django.db.models import Q
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, Country, DomesticBody, MoU
from agencies.selectors import partner_and_mou, scope_problems
from disputes.models import Dispute, Evidence, Message, Status, TimelineEvent

from . import forms
from .models import Draft, draft_cookie_name

DRAFT_COOKIE_SALT = "portal.draft"
# Key in Draft.data listing the steps the consumer has tried to continue from.
CHECKED = "_checked"


def draft_for_request(request) -> Draft | None:
    """The visitor's unexpired draft, found through the signed cookie; None otherwise."""
    try:
        draft_id = request.get_signed_cookie(draft_cookie_name(), salt=DRAFT_COOKIE_SALT)
    except (KeyError, signing.BadSignature):
        return None
    return Draft.objects.filter(pk=draft_id, expires_at__gt=timezone.now()).first()


def step_form(draft: Draft | None, step: str, data=None):
    """The form of a step, bound to what the consumer last typed there (valid or not)."""
    form_class = next(form for form in forms.STEP_FORMS if form.step == step)
    if data is None and draft is not None and step in draft.data:
        data = MultiValueDict(draft.data[step])
    if data is None:
        from django.utils import translation

        initial = {}
        if step == "you":
            initial["consumer_language"] = draft.language if draft else translation.get_language()
        return form_class(initial=initial, prefix=None)
    return form_class(data=data)


def step_form_for_display(draft: Draft | None, step: str):
    """The step's form as the consumer left it; errors only once they tried to continue."""
    form = step_form(draft, step)
    if form.is_bound and step not in (draft.data.get(CHECKED) or []):
        form.full_clean()
        form._errors = type(form.errors)()
    return form


def step_forms(draft: Draft) -> dict:
    return {form.step: step_form(draft, form.step) for form in forms.STEP_FORMS}


def first_incomplete_step(draft: Draft) -> str | None:
    for step, form in step_forms(draft).items():
        if not form.is_bound or not form.is_valid():
            return step
    return None


def draft_has_content(draft: Draft | None) -> bool:
    return bool(draft and (draft.data or draft.files.exists()))


def draft_values(draft: Draft) -> dict:
    """The cleaned values of every valid step, merged."""
    values: dict = {}
    for form in step_forms(draft).values():
        if form.is_bound and form.is_valid():
            values.update(form.cleaned_data)
    return values


@dataclass
class Coverage:
    """What the consumer should know before sending: is this claim covered by an active MoU?"""

    covered: bool
    domestic: bool = False
    partner: Agency | None = None
    mou: MoU | None = None
    problems: list[str] = field(default_factory=list)
    bodies: list[DomesticBody] = field(default_factory=list)


def coverage_for(
    home: Agency,
    *,
    merchant_country: Country | None,
    consumer_country: Country | None,
    category=None,
    amount=None,
    currency: str = "",
) -> Coverage | None:
    if merchant_country is None:
        return None
    countries = {merchant_country.pk}
    if consumer_country is not None:
        countries.add(consumer_country.pk)
    bodies = list(DomesticBody.objects.filter(country__in=countries).select_related("country"))
    if merchant_country.pk == home.country_id:
        return Coverage(covered=False, domestic=True, bodies=bodies)
    partner, mou = partner_and_mou(home, merchant_country)
    if mou is None:
        return Coverage(covered=False, partner=partner, bodies=bodies)
    problems = [
        message
        for _code, message in scope_problems(
            mou,
            category_id=category.pk if category else None,
            amount=amount,
            currency=currency,
        )
    ]
    return Coverage(
        covered=not problems, partner=partner, mou=mou, problems=problems, bodies=bodies
    )


# --- the consumer's view of a dispute -----------------------------------------------------------

PLAIN_STATUS = {
    Status.SUBMITTED: _("We have received your dispute. A caseworker will look at it soon."),
    Status.UNDER_REVIEW: _("A caseworker is checking your dispute."),
    Status.CLARIFICATION_REQUESTED: _(
        "We need more information from you before we can continue. Please answer below."
    ),
    Status.OUT_OF_SCOPE: _(
        "We cannot handle this dispute ourselves. We have told you where to turn instead."
    ),
    Status.FORWARDED: _(
        "We have sent your dispute to our partner agency in the merchant's country."
    ),
    Status.ACCEPTED_BY_PARTNER: _(
        "Our partner agency has accepted your dispute and will contact the merchant."
    ),
    Status.MERCHANT_CONTACTED: _("The merchant has been contacted about your dispute."),
    Status.NEGOTIATION: _("The agency is negotiating with the merchant for you."),
    Status.MEDIATION: _("The agency is mediating between you and the merchant."),
    Status.SETTLED: _("Your dispute has been settled."),
    Status.NOT_SETTLED: _("The merchant and you did not reach a settlement."),
    Status.REFERRED_TO_ADJUDICATION: _(
        "Your dispute has been referred to a body that can decide it."
    ),
    Status.WITHDRAWN: _("You withdrew this dispute."),
    Status.CLOSED: _("This dispute is closed."),
}


def plain_status(dispute: Dispute) -> str:
    # Not get_status_display() as a default: Django builds and hashes the whole translated
    # choice list on each call (a quarter of a consumer email's CPU).
    return str(PLAIN_STATUS.get(dispute.status) or Status(dispute.status).label)


def consumer_timeline(dispute: Dispute):
    return (
        dispute.timeline.filter(visible_to_consumer=True)
        .exclude(kind__in=[TimelineEvent.Kind.PACKET, TimelineEvent.Kind.DEADLINES])
        .order_by("at", "pk")
    )


def consumer_messages(dispute: Dispute, language: str) -> list[Message]:
    """Messages the consumer may see, each with its translation into their language, if any."""
    messages = list(
        dispute.messages.filter(visible_to_consumer=True).prefetch_related("translations")
    )
    for message in messages:
        message.translation_for_consumer = next(
            (
                item
                for item in message.translations.all()
                if item.language == language and message.language != language
            ),
            None,
        )
    return messages


def consumer_documents(dispute: Dispute):
    """The consumer's own files, and agency documents whose event was shown to the consumer."""
    shown = [
        event.data.get("sha256")
        for event in dispute.timeline.filter(
            kind=TimelineEvent.Kind.DOCUMENT, visible_to_consumer=True
        )
        if event.data.get("sha256")
    ]
    return dispute.evidence.filter(
        Q(uploaded_by=Evidence.UploadedBy.CONSUMER) | Q(sha256__in=shown)
    ).order_by("uploaded_at", "pk")


def clarification_question(dispute: Dispute) -> TimelineEvent | None:
    if dispute.status != Status.CLARIFICATION_REQUESTED:
        return None
    return (
        dispute.timeline.filter(to_status=Status.CLARIFICATION_REQUESTED)
        .order_by("-at", "-pk")
        .first()
    )


def open_settlement_proposal(dispute: Dispute) -> bool:
    from disputes.lifecycle import TRANSITIONS

    return bool(dispute.settlement_proposal) and (
        dispute.status in TRANSITIONS["accept_settlement"].sources
    )


def can_confirm_receipt(dispute: Dispute) -> bool:
    """Settled, and the consumer has not yet confirmed receipt (they may correct "not arrived")."""
    return dispute.status in (Status.SETTLED, Status.CLOSED) and dispute.consumer_receipt != (
        "received"
    )


def consumer_ratings(dispute: Dispute) -> dict[str, int]:
    return dict(dispute.ratings.values_list("aspect", "score"))


def can_rate(dispute: Dispute) -> bool:
    from disputes.services.performance import OUTCOMES

    return dispute.status in OUTCOMES and not dispute.ratings.exists()


def consumer_deadlines(dispute: Dispute) -> list[tuple[str, object]]:
    labels = [
        ("review_due_on", _("Review of your dispute by %(agency)s")),
        ("acknowledge_due_on", _("Partner agency to accept your dispute")),
        ("merchant_contact_due_on", _("Merchant to be contacted")),
        ("resolution_due_on", _("Target date for a resolution")),
    ]
    result = []
    for name, label in labels:
        value = getattr(dispute, name)
        if value:
            result.append((str(label) % {"agency": dispute.home_agency.short_name}, value))
    return result


def draft_summary(draft: Draft) -> list[dict]:
    """Each completed step's answers as (label, text) pairs, for the check-and-send page."""
    import datetime as dt

    from django.utils.formats import date_format, localize

    sections = []
    for step, form in step_forms(draft).items():
        rows = []
        if form.is_bound and form.is_valid():
            for name, field in form.fields.items():
                value = form.cleaned_data.get(name)
                if value in (None, "", []) or name == "currency":
                    continue
                if name == "amount":
                    from odr.l10n import format_money

                    text = format_money(value, form.cleaned_data.get("currency", ""))
                elif hasattr(field, "choices") and not hasattr(field, "queryset"):
                    text = str(dict(field.choices).get(value, value))
                elif hasattr(field, "label_from_instance"):
                    items = value if hasattr(value, "__iter__") else [value]
                    text = ", ".join(field.label_from_instance(item) for item in items)
                elif isinstance(value, dt.date):
                    text = date_format(value, "DATE_FORMAT")
                else:
                    text = localize(value) if not isinstance(value, str) else value
                rows.append((field.label, text))
        sections.append({"step": step, "title": form.title, "rows": rows})
    return sections
