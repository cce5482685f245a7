"""Forms of the caseworker screens. They only clean input; the services decide what is allowed."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from agencies.models import Category, Country, DomesticBody
from agencies.selectors import this_agency_or_none
from disputes.evidence import check_evidence
from disputes.models import IntakeChannel, PaymentMethod, ProblemType, Remedy, RemedyKind, Status
from odr.errors import DomainError


def language_choices():
    return list(settings.LANGUAGES)


def current_language() -> str:
    language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


class LanguageField(forms.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Written in"))
        super().__init__(choices=language_choices, **kwargs)


class QueueFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("Reference, merchant name or web domain, consumer name"),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Status.choices],
    )
    partner = forms.TypedChoiceField(
        label=_("Partner agency"), required=False, coerce=int, empty_value=None
    )
    category = forms.TypedChoiceField(
        label=_("Category"), required=False, coerce=int, empty_value=None
    )
    due = forms.ChoiceField(
        label=_("Deadline"),
        required=False,
        choices=[
            ("", _("Any deadline")),
            ("overdue", _("Overdue")),
            ("today", _("Due today")),
            ("2", _("Due within 2 working days")),
            ("5", _("Due within 5 working days")),
            ("10", _("Due within 10 working days")),
        ],
    )
    assigned = forms.ChoiceField(label=_("Assigned to"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("deadline", _("Earliest deadline")),
            ("newest", _("Newest filed")),
            ("oldest", _("Oldest filed")),
        ],
    )
    needs_action = forms.BooleanField(label=_("Only disputes waiting for us"), required=False)

    def __init__(self, *args, partners=(), categories=(), staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [
            ("", _("Any partner")),
            *((agency.pk, agency.name) for agency in partners),
        ]
        self.fields["category"].choices = [
            ("", _("Any category")),
            *((category.pk, category.name) for category in categories),
        ]
        self.fields["assigned"].choices = [
            ("", _("Anyone or no one")),
            ("me", _("Me")),
            ("unassigned", _("No one yet")),
            *(
                (str(person.pk), person.get_full_name() or person.get_username())
                for person in staff
            ),
        ]


class AssignForm(forms.Form):
    assignee = forms.TypedChoiceField(
        label=_("Assign to"), coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = {person.pk: person for person in staff}
        self.fields["assignee"].choices = [
            ("", _("No one (unassigned)")),
            *((person.pk, person.get_full_name() or person.get_username()) for person in staff),
        ]

    def assignee_user(self):
        return self.staff.get(self.cleaned_data["assignee"])


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name of this view"), max_length=80)
    query = forms.CharField(max_length=1000, required=False, widget=forms.HiddenInput)


# --- actions ----------------------------------------------------------------------------------


class ActionForm(forms.Form):
    """An action without input. ``service_kwargs`` maps cleaned data to the service's arguments."""

    def __init__(self, *args, dispute=None, **kwargs):
        self.dispute = dispute
        super().__init__(*args, **kwargs)
        if "language" in self.fields:
            self.fields["language"].initial = current_language()

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class QuestionForm(ActionForm):
    question = forms.CharField(
        label=_("Question for the consumer"), widget=forms.Textarea(attrs={"rows": 4})
    )
    language = LanguageField()


class ClarificationForm(ActionForm):
    answer = forms.CharField(
        label=_("The consumer's answer, as received"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    language = LanguageField()


class ReferOutForm(ActionForm):
    body = forms.ModelChoiceField(
        label=_("Refer to"), queryset=DomesticBody.objects.none(), empty_label=None
    )
    reason = forms.CharField(
        label=_("Reason for the referral"), widget=forms.Textarea(attrs={"rows": 3})
    )
    language = LanguageField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bodies = DomesticBody.objects.select_related("country").order_by("country", "code")
        if self.dispute is not None:
            bodies = bodies.filter(country=self.dispute.home_agency.country)
        self.fields["body"].queryset = bodies


class ReasonForm(ActionForm):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    language = LanguageField()


class OptionalReasonForm(ActionForm):
    reason = forms.CharField(
        label=_("Reason (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    language = LanguageField()


class NoteForm(ActionForm):
    note = forms.CharField(
        label=_("Note (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    language = LanguageField()


class MoneyFields(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount (optional)"), required=False, min_value=0, max_digits=18, decimal_places=2
    )
    currency = forms.RegexField(
        label=_("Currency"),
        regex=r"^[A-Za-z]{3}$",
        required=False,
        max_length=3,
        error_messages={"invalid": _("Use the three-letter ISO 4217 code.")},
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("amount") is not None and not cleaned.get("currency"):
            self.add_error("currency", _("Give the currency of the amount."))
        cleaned["currency"] = (cleaned.get("currency") or "").upper()
        return cleaned


class ProposalForm(MoneyFields, ActionForm):
    """Terms put to the consumer: the merchant's offer received outside the platform, or the
    caseworker's own in mediation (``disputes.services.propose_settlement``)."""

    remedy = forms.ChoiceField(label=_("Remedy"), choices=RemedyKind.choices)
    proposal = forms.CharField(
        label=_("The terms, in words"), widget=forms.Textarea(attrs={"rows": 3})
    )
    perform_by = forms.DateField(
        label=_("To be carried out by"), widget=forms.DateInput(attrs={"type": "date"})
    )
    language = LanguageField()
    field_order = ["remedy", "proposal", "amount", "currency", "perform_by", "language"]


class InviteMerchantForm(forms.Form):
    """The merchant's contact, to send them their link (recorded once per merchant)."""

    name = forms.CharField(label=_("Merchant name"), max_length=200)
    contact_email = forms.EmailField(label=_("Merchant's email address"))
    language = forms.ChoiceField(
        label=_("Merchant's language"), choices=language_choices, initial="ko"
    )
    website = forms.CharField(label=_("Web shop address"), required=False, max_length=500)
    marketplace = forms.CharField(label=_("Marketplace"), required=False, max_length=100)
    shop_id = forms.CharField(label=_("Shop id on the marketplace"), required=False, max_length=100)


class SettlementForm(MoneyFields, ActionForm):
    summary = forms.CharField(
        label=_("Terms of the settlement"), widget=forms.Textarea(attrs={"rows": 3})
    )
    remedy = forms.ChoiceField(
        label=_("Remedy"), required=False, choices=[("", "—"), *RemedyKind.choices]
    )
    perform_by = forms.DateField(
        label=_("To be carried out by"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    language = LanguageField()
    field_order = ["summary", "remedy", "amount", "currency", "perform_by", "language"]


class NoSettlementForm(ActionForm):
    summary = forms.CharField(
        label=_("Why no settlement was reached"), widget=forms.Textarea(attrs={"rows": 3})
    )
    language = LanguageField()


class AdjudicationForm(ActionForm):
    body = forms.ModelChoiceField(
        label=_("Adjudicating body"),
        queryset=DomesticBody.objects.filter(handles_adjudication=True)
        .select_related("country")
        .order_by("country", "code"),
        empty_label=None,
    )
    reason = forms.CharField(
        label=_("Reason (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    language = LanguageField()


# Each action on the detail page: its form, and the button's words.
ACTIONS: dict[str, tuple[type[ActionForm], str]] = {
    "start_review": (ActionForm, _("Start the review")),
    "request_clarification": (QuestionForm, _("Ask the consumer")),
    "provide_clarification": (ClarificationForm, _("Record the consumer's answer")),
    "refer_out_of_scope": (ReferOutForm, _("Refer out of scope")),
    "forward": (ActionForm, _("Forward to the partner agency")),
    "accept_forwarded": (ActionForm, _("Accept the case")),
    "return_to_home": (ReasonForm, _("Return to the home agency")),
    "contact_merchant": (NoteForm, _("Record that the merchant was contacted")),
    "start_negotiation": (NoteForm, _("Start negotiation")),
    "start_mediation": (NoteForm, _("Start mediation")),
    "propose_settlement": (ProposalForm, _("Put terms to the consumer")),
    "record_merchant_silence": (NoteForm, _("Record that the merchant did not respond")),
    "record_settlement": (SettlementForm, _("Record the settlement")),
    "record_no_settlement": (NoSettlementForm, _("Record that no settlement was reached")),
    "refer_to_adjudication": (AdjudicationForm, _("Refer to adjudication")),
    "close": (NoteForm, _("Close the dispute")),
    "withdraw": (OptionalReasonForm, _("Withdraw on the consumer's behalf")),
}


# --- messages, translations and documents ----------------------------------------------------


class MessageForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 4}))
    language = LanguageField()
    visible_to_consumer = forms.BooleanField(
        label=_("Show to the consumer"),
        required=False,
        initial=True,
        help_text=_("Untick to write to the partner agency only."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = current_language()


class TranslationForm(forms.Form):
    language = LanguageField(label=_("Translation into"))
    body = forms.CharField(label=_("Translation"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = current_language()


class CheckedFileField(forms.FileField):
    """A file checked by its content (type and size) before any service sees it."""

    def clean(self, data, initial=None):
        uploaded = super().clean(data, initial)
        if uploaded:
            check_upload(uploaded)
        return uploaded


def check_upload(uploaded) -> None:
    content = uploaded.read()
    uploaded.seek(0)
    try:
        check_evidence(uploaded.name, content)
    except DomainError as error:
        raise forms.ValidationError(error.message, code=error.code) from error


class DocumentForm(forms.Form):
    file = CheckedFileField(
        label=_("File"), help_text=_("PDF, JPEG, PNG, WebP or plain text, checked by content.")
    )
    note = forms.CharField(
        label=_("Note (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    language = LanguageField()
    visible_to_consumer = forms.BooleanField(
        label=_("Show to the consumer"), required=False, initial=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = current_language()


# --- filing on a consumer's behalf -----------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleCheckedFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        cleaned = [super(MultipleCheckedFileField, self).clean(item, initial) for item in files]
        errors = []
        for uploaded in cleaned:
            try:
                check_upload(uploaded)
            except forms.ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise forms.ValidationError(errors)
        return cleaned


OFFLINE_CHANNELS = [
    (value, label)
    for value, label in IntakeChannel.choices
    if value not in (IntakeChannel.WEB, IntakeChannel.API)
]


class FileOnBehalfForm(forms.Form):
    intake_channel = forms.ChoiceField(
        label=_("Received by"), choices=OFFLINE_CHANNELS, widget=forms.RadioSelect
    )
    consumer_name = forms.CharField(label=_("Consumer's name"), max_length=200)
    consumer_email = forms.EmailField(label=_("Consumer's email"))
    consumer_phone = forms.CharField(label=_("Consumer's phone"), max_length=40, required=False)
    consumer_country = forms.ModelChoiceField(
        label=_("Country of residence"), queryset=Country.objects.order_by("code")
    )
    consumer_language = LanguageField(label=_("Consumer's preferred language"))
    merchant_name = forms.CharField(label=_("Merchant name"), max_length=200)
    merchant_website = forms.CharField(
        label=_("Merchant website or marketplace shop"), max_length=500, required=False
    )
    merchant_country = forms.ModelChoiceField(
        label=_("Merchant country"), queryset=Country.objects.order_by("code")
    )
    merchant_contact = forms.CharField(label=_("Merchant contact"), max_length=300, required=False)
    purchase_date = forms.DateField(
        label=_("Purchase date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    order_number = forms.CharField(label=_("Order number"), max_length=100, required=False)
    amount = forms.DecimalField(
        label=_("Amount paid"), min_value=0, max_digits=18, decimal_places=2
    )
    currency = forms.RegexField(
        label=_("Currency"),
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        error_messages={"invalid": _("Use the three-letter ISO 4217 code.")},
    )
    payment_method = forms.ChoiceField(label=_("Payment method"), choices=PaymentMethod.choices)
    platform = forms.CharField(label=_("Platform or marketplace"), max_length=200, required=False)
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all())
    problem_types = forms.ModelMultipleChoiceField(
        label=_("Problems"),
        queryset=ProblemType.objects.all(),
        widget=forms.CheckboxSelectMultiple,
    )
    desired_remedy = forms.ModelChoiceField(label=_("Remedy sought"), queryset=Remedy.objects.all())
    consumer_account = forms.CharField(
        label=_("What happened, in the consumer's words"),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    filing_language = LanguageField(label=_("Language of the consumer's account"))
    evidence = MultipleCheckedFileField(
        label=_("Evidence files"),
        required=False,
        help_text=_("Receipts, screenshots, letters: PDF, JPEG, PNG, WebP or plain text."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["filing_language"].initial = current_language()
        self.fields["consumer_language"].initial = current_language()
        # Most offline complaints come from people living in the agency's own country.
        agency = this_agency_or_none()
        if agency is not None:
            self.fields["consumer_country"].initial = agency.country_id

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()
