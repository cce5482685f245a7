"""Reads for the merchant pages and enforcement referrals; who may do what with them."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db.models import Case, QuerySet, When

from agencies.models import Agency, DomesticBody
from casework.selectors import disputes_visible_to
from disputes.merchant_watch import merchant_disputes, merchant_names
from disputes.models import Dispute, Status

from .models import EnforcementReferral

# A referral lists at most this many cases (about 25 pages of PDF).
MAX_CASES = 1000


def may_approve(user) -> bool:
    return user.has_perm("enforcement.approve_enforcement_referral")


def merchant_name(agency: Agency, key: str) -> str:
    return merchant_names(agency, [key]).get(key, key)


def referral_language(agency: Agency) -> str:
    """Referrals are written in the agency's first working language."""
    return (agency.languages or ["en"])[0]


def authorities_for(agency: Agency) -> QuerySet[DomesticBody]:
    """Who a referral can be addressed to: the bodies of the agency's own country that do not
    decide disputes (ministries, regulators, consumer agencies, platforms)."""
    return DomesticBody.objects.filter(country=agency.country, handles_adjudication=False).order_by(
        "name"
    )


def cases_filed_in(
    agency: Agency,
    key: str,
    first_day: dt.date,
    last_day: dt.date,
    *,
    include_withdrawn: bool = False,
) -> QuerySet[Dispute]:
    """The agency's cases against the merchant filed from ``first_day`` to ``last_day``, days on
    the agency's own calendar (its country's time zone)."""
    zone = zoneinfo.ZoneInfo(agency.country.timezone)
    start = dt.datetime.combine(first_day, dt.time(), zone)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), zone)
    cases = merchant_disputes(agency, key).filter(filed_at__gte=start, filed_at__lt=end)
    if not include_withdrawn:
        cases = cases.exclude(status=Status.WITHDRAWN)
    return cases


def merchant_cases(agency: Agency, key: str) -> QuerySet[Dispute]:
    """The agency's cases against the merchant, latest first, with what the merchant's page
    lists of each: no consumer's name or contact."""
    return (
        merchant_disputes(agency, key)
        .select_related("home_agency", "partner_agency")
        .only(
            "reference",
            "filed_at",
            "amount",
            "currency",
            "status",
            "home_agency__code",
            "home_agency__short_name",
            "partner_agency__code",
            "partner_agency__short_name",
        )
        .order_by("-filed_at", "-pk")
    )


def openable_among(user, agency: Agency, cases) -> set[int]:
    """Which of these cases this person may open (casework's rule: a caseworker their own and
    unassigned ones, a supervisor all)."""
    return set(
        disputes_visible_to(user, agency)
        .filter(pk__in=[case.pk for case in cases])
        .values_list("pk", flat=True)
    )


def referrals_about(agency: Agency, key: str) -> list[EnforcementReferral]:
    return list(
        EnforcementReferral.objects.filter(agency=agency, merchant_key=key)
        .select_related("authority", "prepared_by", "decided_by")
        .defer("pdf")
        .order_by("-prepared_at")
    )


def referrals_of(agency: Agency, *, limit: int = 20) -> list[EnforcementReferral]:
    """The agency's latest referrals, drafts waiting for a decision first."""
    waiting_first = Case(When(state=EnforcementReferral.State.DRAFT, then=0), default=1)
    return list(
        EnforcementReferral.objects.filter(agency=agency)
        .select_related("authority", "prepared_by", "decided_by")
        .defer("pdf")
        .order_by(waiting_first, "-pk")[:limit]
    )


def referral_of(agency: Agency, number: str) -> EnforcementReferral:
    """Raises EnforcementReferral.DoesNotExist for another agency's referral."""
    return EnforcementReferral.objects.select_related(
        "agency", "authority", "prepared_by", "decided_by"
    ).get(agency=agency, number=number)
