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
    cases = forms.TypedMultipleChoiceField(
        label=_("Cases to list"), coerce=int, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, authorities, cases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["authority"].queryset = authorities
        self.fields["cases"].choices = [(case.pk, case.reference) for case in cases]
        self.fields["cases"].error_messages["required"] = _("Choose at least one case.")


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
