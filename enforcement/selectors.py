"""Reads for the merchant pages and enforcement referrals; who may do what with them."""

from __future__ import annotations

from django.db.models import QuerySet

from agencies.models import Agency, DomesticBody
from disputes.merchant_watch import merchant_disputes, merchant_names
from disputes.models import Dispute

from .models import EnforcementReferral

# A referral lists at most this many cases; the form offers the latest ones.
MAX_CASES = 500


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


def cases_to_offer(agency: Agency, key: str) -> QuerySet[Dispute]:
    """The agency's cases against the merchant a referral may list, latest first. Only what a
    referral shows is read: no consumer's name or contact."""
    return (
        merchant_disputes(agency, key)
        .only("pk", "reference", "filed_at", "amount", "currency", "status")
        .order_by("-filed_at", "-pk")[:MAX_CASES]
    )


def referrals_about(agency: Agency, key: str) -> list[EnforcementReferral]:
    return list(
        EnforcementReferral.objects.filter(agency=agency, merchant_key=key)
        .select_related("authority", "prepared_by", "decided_by")
        .defer("pdf")
        .order_by("-prepared_at")
    )


def referrals_of(agency: Agency) -> list[EnforcementReferral]:
    """The agency's referrals, drafts waiting for a decision first."""
    referrals = (
        EnforcementReferral.objects.filter(agency=agency)
        .select_related("authority", "prepared_by", "decided_by")
        .defer("pdf")
    )
    return sorted(referrals, key=lambda referral: (not referral.is_draft, -referral.pk))


def referral_of(agency: Agency, number: str) -> EnforcementReferral:
    """Raises EnforcementReferral.DoesNotExist for another agency's referral."""
    return EnforcementReferral.objects.select_related(
        "agency", "authority", "prepared_by", "decided_by"
    ).get(agency=agency, number=number)
