"""The guided admin page for a new MoU: the partner (picked, or imported from its card), the
scope, languages and deadlines, the dates and the signed document, the partner's default team.
It creates a draft; the page it leads to says what comes next (confirm, ping, activate)."""

from __future__ import annotations

import datetime as dt

import filetype
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, Category, MoU
from agencies.selectors import this_agency
from agencies.services import create_mou
from odr.errors import DomainError

from . import cards

# The guided page's sections, in order: (title, fields).
STEPS = [
    (_("1. The partner"), ["partner", "card"]),
    (_("2. The agreement"), ["reference", "title"]),
    (_("3. Scope"), ["categories", "max_claim_amount", "max_claim_currency", "partner_stages"]),
    (
        _("4. Languages and deadlines in working days"),
        ["languages", "acknowledge_days", "merchant_contact_days", "resolution_days"],
    ),
    (
        _("5. Dates and the signed document"),
        ["signed_on", "effective_from", "effective_until", "document"],
    ),
    (_("6. Team"), ["default_team"]),
]


class NewMoUForm(forms.Form):
    partner = forms.ModelChoiceField(
        label=_("Partner agency"),
        queryset=Agency.objects.none(),
        required=False,
        help_text=_("Or import the partner's card below."),
    )
    card = forms.FileField(label=_("Partner card"), required=False)
    reference = forms.CharField(label=_("Reference"), max_length=60)
    title = forms.CharField(label=_("Title"), max_length=200)
    categories = forms.ModelMultipleChoiceField(
        label=_("Categories covered"),
        queryset=Category.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every category."),
    )
    max_claim_amount = forms.DecimalField(
        label=_("Maximum claim value"), required=False, min_value=0, decimal_places=2
    )
    max_claim_currency = forms.RegexField(
        label=_("Currency of the maximum"), regex=r"^[A-Z]{3}$", required=False, max_length=3
    )
    partner_stages = forms.MultipleChoiceField(
        label=_("Stages the partner handles"),
        choices=MoU.Stage.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[MoU.Stage.MERCHANT_CONTACT, MoU.Stage.NEGOTIATION],
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages of exchange"),
        choices=settings.LANGUAGES,
        widget=forms.CheckboxSelectMultiple,
        initial=["en"],
    )
    acknowledge_days = forms.IntegerField(
        label=_("Partner acceptance"), min_value=1, max_value=100, initial=5
    )
    merchant_contact_days = forms.IntegerField(
        label=_("Merchant reply"), min_value=1, max_value=200, initial=10
    )
    resolution_days = forms.IntegerField(
        label=_("Resolution"), min_value=1, max_value=365, initial=60
    )
    signed_on = forms.DateField(label=_("Signed on"), required=False)
    effective_from = forms.DateField(label=_("Effective from"), required=False)
    effective_until = forms.DateField(label=_("Effective until"), required=False)
    document = forms.FileField(label=_("Signed MoU (PDF)"), required=False)
    default_team = forms.ModelChoiceField(
        label=_("Default team"), queryset=Group.objects.order_by("name"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = Agency.objects.exclude(code=settings.ODR_NODE)

    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in STEPS]

    def clean_document(self):
        upload = self.cleaned_data.get("document")
        if upload:
            kind = filetype.guess(upload.read(8192))
            upload.seek(0)
            if kind is None or kind.mime != "application/pdf":
                raise forms.ValidationError(_("The signed MoU must be a PDF file."))
        return upload

    def clean_reference(self):
        reference = self.cleaned_data["reference"].strip()
        if MoU.objects.filter(reference=reference).exists():
            raise forms.ValidationError(_("An MoU with this reference exists already."))
        return reference

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("partner")) == bool(cleaned.get("card")):
            raise forms.ValidationError(_("Pick the partner agency or import its card (one)."))
        if cleaned.get("max_claim_amount") is not None and not cleaned.get("max_claim_currency"):
            self.add_error("max_claim_currency", _("Give the currency of the maximum."))
        start, end = cleaned.get("effective_from"), cleaned.get("effective_until")
        if start and end and end < start:
            self.add_error("effective_until", _("The MoU cannot end before it starts."))
        return cleaned


@transaction.atomic
def _create(form: NewMoUForm) -> tuple[MoU, Agency]:
    """The draft MoU and its partner (one imported from its card is prospective)."""
    data = form.cleaned_data
    partner = data["partner"]
    if data["card"]:
        partner = cards.import_partner_card(data["card"].read()).agency
    mou = create_mou(
        first=this_agency(),
        second=partner,
        reference=data["reference"],
        title=data["title"],
        categories=list(data["categories"]),
        max_claim_amount=data["max_claim_amount"],
        max_claim_currency=data["max_claim_currency"] or "",
        partner_stages=list(data["partner_stages"]),
        languages=list(data["languages"]),
        acknowledge_days=data["acknowledge_days"],
        merchant_contact_days=data["merchant_contact_days"],
        resolution_days=data["resolution_days"],
        signed_on=data["signed_on"],
        effective_from=data["effective_from"],
        effective_until=data["effective_until"],
        default_team=data["default_team"],
    )
    if data["document"]:
        mou.document.save(f"{mou.reference}-{dt.date.today():%Y%m%d}.pdf", data["document"])
    return mou, partner


def new_mou_view(model_admin, request):
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    form = NewMoUForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            mou, partner = _create(form)
        except DomainError as error:
            form.add_error("card" if form.cleaned_data.get("card") else None, error.message)
        else:
            model_admin.log_addition(request, mou, [{"added": {}}])
            steps = [_("next: run the connectivity check, then activate it on the agreed date.")]
            if partner.status == Agency.Status.PROSPECTIVE:
                steps.insert(0, _("first compare the partner's key thumbprints and confirm it;"))
            model_admin.message_user(
                request,
                _("%(reference)s is a draft; %(steps)s")
                % {"reference": mou.reference, "steps": " ".join(str(s) for s in steps)},
                messages.SUCCESS,
            )
            return redirect(reverse("admin:agencies_mou_change", args=[mou.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": MoU._meta,
        "title": _("New MoU"),
        "form": form,
    }
    return TemplateResponse(request, "admin/agencies/mou/new_mou.html", context)
