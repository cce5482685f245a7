"""The merchant pages and enforcement referrals of the caseworker screens. Thin: forms clean
input, services change things, selectors read."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import AuditEntry
from audit.services import record
from casework import selectors as casework_selectors
from casework.views import caseworker_required
from disputes import merchant_watch
from disputes.services import agency_today
from odr.errors import DomainError, NotAllowed

from . import documents, selectors, services
from .forms import DecisionForm, MerchantSearchForm, PrepareReferralForm
from .models import EnforcementReferral

CASES_PER_PAGE = 50


@require_GET
@caseworker_required
def merchants(request):
    agency = casework_selectors.node_agency()
    form = MerchantSearchForm(request.GET or None)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    return render(
        request,
        "enforcement/merchants.html",
        {
            "form": form,
            "merchants": merchant_watch.merchants_of(agency, search=search),
            "threshold": settings.ODR_REPEAT_MERCHANT_THRESHOLD,
            "window_days": settings.ODR_REPEAT_MERCHANT_WINDOW_DAYS,
            "referrals": selectors.referrals_of(agency),
            "nav": "merchants",
        },
    )


def _merchant_page(request, key: str, *, form=None, status: int = 200):
    agency = casework_selectors.node_agency()
    merchant = merchant_watch.merchant_record(agency, key)
    if merchant is None:
        raise Http404(_("This agency has no disputes against that merchant."))
    cases = Paginator(selectors.merchant_cases(agency, key), CASES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    # Only the cases this person may open are links; the others are listed, not opened.
    openable = selectors.openable_among(request.user, agency, cases)
    if form is None:
        form = PrepareReferralForm(
            authorities=selectors.authorities_for(agency),
            initial={
                "filed_from": agency_today(agency, merchant.first_filed),
                "filed_to": agency_today(agency),
            },
        )
    return render(
        request,
        "enforcement/merchant.html",
        {
            "merchant": merchant,
            "cases": cases,
            "openable": openable,
            "form": form,
            "referrals": selectors.referrals_about(agency, key),
            "nav": "merchants",
        },
        status=status,
    )


@require_GET
@caseworker_required
def merchant(request, key: str):
    return _merchant_page(request, key)


@require_POST
@caseworker_required
def prepare_referral(request, key: str):
    agency = casework_selectors.node_agency()
    form = PrepareReferralForm(request.POST, authorities=selectors.authorities_for(agency))
    if form.is_valid():
        try:
            referral = services.prepare_referral(
                agency=agency,
                by=request.user,
                merchant_key=key,
                authority=form.cleaned_data["authority"],
                recommendation=form.cleaned_data["recommendation"],
                filed_from=form.cleaned_data["filed_from"],
                filed_to=form.cleaned_data["filed_to"],
                include_withdrawn=form.cleaned_data["include_withdrawn"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The referral is waiting for a supervisor's approval."))
            return redirect("enforcement:referral", number=referral.number)
    return _merchant_page(request, key, form=form, status=400)


def _referral_or_404(number: str) -> EnforcementReferral:
    try:
        return selectors.referral_of(casework_selectors.node_agency(), number)
    except EnforcementReferral.DoesNotExist as error:
        raise Http404(_("No such referral at this agency.")) from error


@require_http_methods(["GET", "POST"])
@caseworker_required
def referral(request, number: str):
    referral = _referral_or_404(number)
    form = DecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.decide_referral(
                    referral,
                    by=request.user,
                    agency=casework_selectors.node_agency(),
                    approve=form.cleaned_data["decision"] == "approve",
                    note=form.cleaned_data["note"],
                )
            except NotAllowed as error:
                form.add_error(None, error.message)
                status = 403
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("The decision is recorded."))
                return redirect("enforcement:referral", number=referral.number)
    cases = referral.cases if not referral.is_draft else documents.draft_cases(referral)
    return render(
        request,
        "enforcement/referral.html",
        {
            "referral": referral,
            "cases": documents.rows_of(cases),
            "summary": documents.summary(cases),
            "form": form,
            "may_decide": referral.is_draft
            and selectors.may_approve(request.user)
            and referral.prepared_by_id != request.user.pk,
            "nav": "merchants",
        },
        status=status,
    )


@require_GET
@caseworker_required
def referral_pdf(request, number: str):
    """The approved referral's PDF as it was approved; a draft's, rendered afresh as a preview."""
    referral = _referral_or_404(number)
    if referral.is_draft:
        pdf = documents.referral_pdf(referral, draft=True)
    elif referral.state == EnforcementReferral.State.APPROVED:
        pdf = bytes(referral.pdf)
    else:
        raise Http404(_("A declined referral has no document."))
    record(
        request.user,
        AuditEntry.Action.READ,
        "enforcement_referral",
        referral.pk,
        referral.number,
        "PDF",
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    suffix = "-draft" if referral.is_draft else ""
    response["Content-Disposition"] = f'attachment; filename="{referral.number}{suffix}.pdf"'
    return response
