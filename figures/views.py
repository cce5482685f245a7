"""Statistics pages and exports. Thin: the form reads filters, selectors compute the figures."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from agencies.models import MoU
from agencies.selectors import this_agency

from . import charts, exports, selectors
from .forms import FiguresFilterForm, month_of


def statistics_staff_required(view):
    @login_required(login_url="casework:login")
    def wrapped(request, *args, **kwargs):
        if not selectors.can_view_statistics(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _bad_filters(form) -> JsonResponse:
    return JsonResponse(
        {"code": "invalid_filters", "errors": form.errors.get_json_data()}, status=400
    )


@require_GET
@statistics_staff_required
def staff(request):
    form = FiguresFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(
            request, "figures/staff.html", {"form": form, "nav": "statistics"}, status=400
        )
    filters = form.filters() if request.GET else selectors.default_filters()
    figures = selectors.staff_figures(filters)
    mou = selectors.active_mous(this_agency())
    return render(
        request,
        "figures/staff.html",
        {
            "form": form,
            "nav": "statistics",
            "figures": figures,
            "charts": charts.staff_charts(figures),
            "query": "&".join(f"{key}={value}" for key, value in filters.as_query().items()),
            "breakdowns": [
                ("by_outcome", _("Outcome"), figures["by_outcome"]),
                ("by_category", _("Category"), figures["by_category"]),
                ("by_channel", _("Channel"), figures["by_channel"]),
                ("by_problem", _("Problem"), figures["by_problem"]),
            ],
            "mous": mou,
            "report_month": filters.last_month,
        },
    )


@require_GET
@statistics_staff_required
def staff_export(request, fmt: str):
    form = FiguresFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return _bad_filters(form)
    filters = form.filters() if request.GET else selectors.default_filters()
    figures = selectors.staff_figures(filters)
    stem = f"statistics-{filters.first_month:%Y-%m}-{filters.last_month:%Y-%m}"
    if fmt == "csv":
        response = HttpResponse(exports.as_csv(figures), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(exports.as_json(figures), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


@require_GET
@statistics_staff_required
def mou_report(request, reference: str, month: str):
    """The month's figures under one MoU as a PDF for the partner and the ministry."""
    node = this_agency()
    mou = get_object_or_404(MoU.objects.select_related("agency_a", "agency_b"), reference=reference)
    first = month_of(month)
    if first is None or not mou.is_party(node):
        raise Http404
    partner = mou.partner_of(node)
    filters = selectors.Filters(first, first, partner=partner)
    figures = selectors.staff_figures(filters)
    html = render_to_string(
        "figures/report.html",
        {
            "figures": figures,
            "mou": mou,
            "node": node,
            "partner": partner,
            "month": first,
            "generated": dt.datetime.now(dt.UTC),
        },
        request=request,
    )
    pdf = exports.as_pdf(html, request.build_absolute_uri("/"))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{mou.reference}-{first:%Y-%m}.pdf"'
    return response


def _public_year(request) -> int | None:
    """``?year=2026``: a calendar year instead of the last twelve months; ValueError if bad."""
    text = request.GET.get("year", "")
    if not text:
        return None
    year = int(text) if text.isdigit() else 0
    if not 2000 <= year <= 2100:
        raise ValueError(text)
    return year


@require_GET
def public(request):
    try:
        year = _public_year(request)
    except ValueError:
        return render(request, "400.html", status=400)
    figures = selectors.public_figures(year)
    this_year = timezone.localdate().year
    return render(
        request,
        "figures/public.html",
        {
            "figures": figures,
            "charts": charts.public_charts(figures),
            "year": year,
            "years": [this_year, this_year - 1, this_year - 2],
        },
    )


@require_GET
def public_json(request):
    try:
        year = _public_year(request)
    except ValueError:
        return JsonResponse(
            {"code": "invalid_year", "detail": _("Give the year as four digits.")}, status=400
        )
    response = HttpResponse(
        exports.as_json(selectors.public_figures(year)), content_type="application/json"
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response
