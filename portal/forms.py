"""The steps of the filing form and the forms on the tracking page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from agencies.models import Category, Country
from disputes.models import PaymentMethod, ProblemType, Remedy

CURRENCIES = ["IDR", "KRW", "GBP", "USD", "EUR", "SGD", "JPY", "CNY", "MYR", "AUD"]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by content later, in the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.webp,.txt"})
        )
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class PortalForm(forms.Form):
    required_css_class = "field--required"
    error_css_class = "field--error"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class StepForm(PortalForm):
    """A filing step: its name, heading and the legend of its fieldset."""

    step = ""
    title = ""
    legend = ""


class CountryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


def language_choices():
    # Each language in its own words, so a consumer finds theirs whatever the page language.
    return [(code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES]


class AboutYouForm(StepForm):
    step = "you"
    title = _("About you")
    legend = _("Who you are and how we reach you")

    consumer_name = forms.CharField(label=_("Your full name"), max_length=200)
    consumer_email = forms.EmailField(
        label=_("Your email address"),
        help_text=_("We send your receipt and a private link to follow your dispute here."),
    )
    consumer_phone = forms.CharField(
        label=_("Your phone number (optional)"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    consumer_country = CountryChoiceField(
        label=_("Country where you live"), queryset=Country.objects.all(), empty_label=_("Choose")
    )
    consumer_language = forms.ChoiceField(
        label=_("Language for our emails to you"),
        choices=language_choices,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consumer_name"].widget.attrs["autocomplete"] = "name"
        self.fields["consumer_email"].widget.attrs["autocomplete"] = "email"


class MerchantForm(StepForm):
    step = "merchant"
    title = _("The merchant")
    legend = _("Who sold to you")

    merchant_name = forms.CharField(label=_("Name of the shop or company"), max_length=200)
    merchant_website = forms.CharField(
        label=_("Web address or marketplace shop"),
        max_length=500,
        required=False,
        help_text=_("For example https://shop.example or the shop's name on the marketplace."),
    )
    merchant_country = CountryChoiceField(
        label=_("Country of the merchant"),
        queryset=Country.objects.all(),
        empty_label=_("Choose"),
        help_text=_("Where the merchant is based, if you know it."),
    )
    merchant_contact = forms.CharField(
        label=_("Merchant's email or phone (optional)"), max_length=300, required=False
    )


class PurchaseForm(StepForm):
    step = "purchase"
    title = _("The purchase")
    legend = _("What you bought and how you paid")

    category = forms.ModelChoiceField(
        label=_("What kind of product or service"),
        queryset=Category.objects.all(),
        empty_label=_("Choose"),
    )
    purchase_date = forms.DateField(
        label=_("Date of purchase"), widget=forms.DateInput(attrs={"type": "date"})
    )
    order_number = forms.CharField(
        label=_("Order number (optional)"), max_length=100, required=False
    )
    amount = forms.DecimalField(
        label=_("Amount you paid"),
        min_value=Decimal("0"),
        max_digits=18,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=[(code, code) for code in CURRENCIES])
    payment_method = forms.ChoiceField(
        label=_("How you paid"), choices=PaymentMethod.choices, widget=forms.RadioSelect
    )
    platform = forms.CharField(
        label=_("Platform or marketplace (optional)"),
        max_length=200,
        required=False,
        help_text=_("For example the app or marketplace where you ordered."),
    )

    def clean_purchase_date(self):
        value = self.cleaned_data["purchase_date"]
        if value > timezone.localdate() + dt.timedelta(days=1):
            raise forms.ValidationError(_("The purchase date cannot be in the future."))
        return value


class ProblemForm(StepForm):
    step = "problem"
    title = _("What went wrong")
    legend = _("What went wrong and what you want")

    problem_types = forms.ModelMultipleChoiceField(
        label=_("What went wrong? Choose all that apply."),
        queryset=ProblemType.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one problem.")},
    )
    desired_remedy = forms.ModelChoiceField(
        label=_("What do you want?"),
        queryset=Remedy.objects.all(),
        widget=forms.RadioSelect,
        empty_label=None,
    )
    consumer_account = forms.CharField(
        label=_("Tell us what happened, in your own words"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=20000,
        help_text=_("What you ordered, what the merchant did or did not do, what you tried."),
    )


class EvidenceForm(PortalForm):
    files = MultipleFileField(
        label=_("Add files"),
        help_text=_(
            "Receipts, screenshots, chat logs, photos: PDF, JPEG, PNG, WebP or plain text."
        ),
    )


class ReviewForm(PortalForm):
    confirm = forms.BooleanField(
        label=_("What I have written is true to the best of my knowledge."),
        error_messages={"required": _("Please confirm before you send your dispute.")},
    )


STEP_FORMS: list[type[StepForm]] = [AboutYouForm, MerchantForm, PurchaseForm, ProblemForm]
STEPS = [form.step for form in STEP_FORMS] + ["evidence", "review"]
STEP_TITLES = {form.step: form.title for form in STEP_FORMS} | {
    "evidence": _("Evidence"),
    "review": _("Check and send"),
}


# --- tracking page ------------------------------------------------------------------------------


class ClarificationForm(PortalForm):
    answer = forms.CharField(
        label=_("Your answer"), widget=forms.Textarea(attrs={"rows": 6}), max_length=20000
    )
    files = MultipleFileField(label=_("Add files (optional)"))


class MessageForm(PortalForm):
    body = forms.CharField(
        label=_("Your message"), widget=forms.Textarea(attrs={"rows": 5}), max_length=20000
    )
    files = MultipleFileField(label=_("Add files (optional)"))


class SettlementForm(PortalForm):
    decision = forms.ChoiceField(
        choices=[("accept", _("Accept")), ("reject", _("Reject"))], widget=forms.HiddenInput
    )
    reason = forms.CharField(
        label=_("Why you reject it (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )


class WithdrawForm(PortalForm):
    confirm = forms.BooleanField(
        label=_("I want to withdraw my dispute. The agencies will stop working on it."),
        error_messages={"required": _("Tick the box to confirm that you want to withdraw.")},
    )
    reason = forms.CharField(
        label=_("Why (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )


class FindDisputeForm(PortalForm):
    reference = forms.CharField(
        label=_("Your dispute reference"),
        max_length=30,
        help_text=_("For example BPKN-2026-000123, from your receipt."),
    )
    email = forms.EmailField(label=_("The email address you gave when filing"))

    def clean_reference(self):
        return self.cleaned_data["reference"].strip().upper()


class ReceiptForm(PortalForm):
    received = forms.TypedChoiceField(
        label=_("Did you receive it?"),
        choices=[("yes", _("Yes, I received it")), ("no", _("No, it has not arrived"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Anything to add (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


SCORES = [(str(n), str(n)) for n in range(1, 6)]


class RatingForm(PortalForm):
    result = forms.TypedChoiceField(
        label=_("How satisfied are you with the result? (1 = not at all, 5 = very)"),
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
    )
    handling = forms.TypedChoiceField(
        label=_("How satisfied are you with how your case was handled?"),
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
