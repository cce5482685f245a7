"""Forms of the merchant's pages. They clean types; disputes.services decide the rest."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from disputes.models import RemedyKind


class MerchantForm(forms.Form):
    required_css_class = "field--required"
    error_css_class = "field--error"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"


class AnswerForm(MerchantForm):
    text = forms.CharField(label=_("Your answer"), widget=forms.Textarea(attrs={"rows": 5}))


class DocumentForm(MerchantForm):
    file = forms.FileField(
        label=_("Document"),
        help_text=_("PDF, JPEG, PNG, WebP or plain text."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.webp,.txt"}),
    )
    note = forms.CharField(
        label=_("What it shows"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ProposalForm(MerchantForm):
    remedy = forms.ChoiceField(label=_("What you offer"), choices=RemedyKind.choices)
    amount = forms.CharField(
        label=_("Amount"),
        required=False,
        max_length=30,
        help_text=_("For a refund: the amount you will pay back."),
    )
    currency = forms.CharField(
        label=_("Currency"),
        required=False,
        max_length=10,
        help_text=_("Three-letter code, e.g. KRW or IDR."),
    )
    perform_by = forms.DateField(label=_("Carried out by"), widget=DateInput)
    text = forms.CharField(
        label=_("Your proposal in words"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AcceptRequestForm(MerchantForm):
    perform_by = forms.DateField(label=_("Carried out by"), widget=DateInput)
    text = forms.CharField(
        label=_("Note to the customer"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class DeclineForm(MerchantForm):
    reasons = forms.CharField(label=_("Why you decline"), widget=forms.Textarea(attrs={"rows": 4}))


class PerformanceForm(MerchantForm):
    performed_on = forms.DateField(label=_("Carried out on"), widget=DateInput)
    note = forms.CharField(
        label=_("How (e.g. transfer reference)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


ACTION_FORMS = {
    "answer": AnswerForm,
    "document": DocumentForm,
    "propose": ProposalForm,
    "accept": AcceptRequestForm,
    "decline": DeclineForm,
    "performed": PerformanceForm,
}
