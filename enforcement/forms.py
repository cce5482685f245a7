"""Forms of the merchant pages: input is cleaned here, decided in services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .services import MAX_RECOMMENDATION


class MerchantSearchForm(forms.Form):
    q = forms.CharField(label=_("Merchant name or web address"), required=False, max_length=200)


class PrepareReferralForm(forms.Form):
    authority = forms.ModelChoiceField(label=_("Addressed to"), queryset=None)
    recommendation = forms.CharField(
        label=_("Recommendation"),
        max_length=MAX_RECOMMENDATION,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What the agency asks the authority to do, and why."),
    )
    # A date input takes and gives ISO dates whatever the page's language.
    filed_from = forms.DateField(
        label=_("Cases filed from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    filed_to = forms.DateField(
        label=_("Cases filed until"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    include_withdrawn = forms.BooleanField(
        label=_("Include cases the consumer withdrew"), required=False
    )

    def __init__(self, *args, authorities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["authority"].queryset = authorities


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("decline", _("Decline"))], widget=forms.HiddenInput
    )
    note = forms.CharField(
        label=_("Note for the file (needed to decline)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
