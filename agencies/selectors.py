"""Reads about agencies, their calendars, keys and MoUs."""

from __future__ import annotations

import datetime as dt
import functools

from django.conf import settings
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from . import refcache
from .calendar import WorkingCalendar, calendar_for
from .models import Agency, AgencyKey, Country, MoU, PublicHoliday


def this_agency() -> Agency:
    """The agency this node serves (``ODR_NODE``)."""
    return Agency.objects.select_related("country").get(code=settings.ODR_NODE)


def this_agency_or_none() -> Agency | None:
    """This node's agency for showing (page headers, forms), kept a few seconds by refcache."""
    try:
        return refcache.cached(("node-agency", settings.ODR_NODE), this_agency)
    except Agency.DoesNotExist:
        return None
    except Exception:
        return None


@functools.lru_cache(maxsize=1)
def _cached_node_timezone(node: str) -> str | None:
    agency = Agency.objects.filter(code=node).select_related("country").first()
    return agency.country.timezone if agency else None


def this_agency_timezone() -> str:
    try:
        return _cached_node_timezone(settings.ODR_NODE) or "UTC"
    except Exception:
        return "UTC"


def working_calendar(country: Country, around: dt.date | None = None) -> WorkingCalendar:
    """The country's calendar, with holidays from a year before to two years after ``around``."""
    around = around or timezone.now().date()
    first = around.replace(year=around.year - 1, month=1, day=1)
    last = around.replace(year=around.year + 2, month=12, day=31)
    holidays = refcache.cached(
        ("holidays", country.pk, first, last), lambda: _holidays(country.pk, first, last)
    )
    return calendar_for(country.working_week, holidays)


def _holidays(country_id: str, first: dt.date, last: dt.date) -> frozenset[dt.date]:
    # Read at most once per cache period per process (the reference cache above).
    return frozenset(
        PublicHoliday.objects.filter(country_id=country_id, date__range=(first, last))
        .order_by()
        .values_list("date", flat=True)
    )


def agency_calendar(agency: Agency, around: dt.date | None = None) -> WorkingCalendar:
    return working_calendar(agency.country, around)


def mous_between(first: Agency, second: Agency) -> QuerySet[MoU]:
    low, high = sorted([first, second], key=lambda agency: agency.pk)
    return MoU.objects.filter(agency_a=low, agency_b=high)


def active_mou_between(first: Agency, second: Agency, on: dt.date | None = None) -> MoU | None:
    """The MoU in force between two agencies on a date, if any."""
    on = on or timezone.now().date()
    return (
        mous_between(first, second)
        .filter(status=MoU.Status.ACTIVE)
        .filter(Q(effective_from__isnull=True) | Q(effective_from__lte=on))
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gte=on))
        .select_related("agency_a__country", "agency_b__country")
        .first()
    )


def mou_in_force(first: Agency, second: Agency, on: dt.date | None = None) -> MoU | None:
    """As ``active_mou_between``, from the rows this process keeps for a few seconds
    (``agencies.refcache``): for the decisions made on every packet and every forward."""
    on = on or timezone.now().date()
    for mou in refcache.active_mous(first.pk, second.pk):
        if (mou.effective_from is None or mou.effective_from <= on) and (
            mou.effective_until is None or mou.effective_until >= on
        ):
            return mou
    return None


def partner_agency_for_country(home: Agency, country: Country) -> Agency | None:
    """The agency in the merchant's country that the home agency works with, if any."""
    return next(
        (
            agency
            for agency in refcache.agencies_in(country.pk)
            if agency.pk != home.pk and agency.status != Agency.Status.SUSPENDED
        ),
        None,
    )


def partner_and_mou(home: Agency, merchant_country: Country) -> tuple[Agency | None, MoU | None]:
    """The partner agency in the merchant's country and the MoU in force with it, if any.

    The one rule for where a claim would go: forwarding, the caseworker's forwarding check, the
    portal's and the API's coverage answers all call this. Read from the reference rows this
    process keeps (``agencies.refcache``): an MoU suspended in another process is seen here
    within its few seconds, and the partner refuses what is sent under it meanwhile.
    """
    partner = partner_agency_for_country(home, merchant_country)
    return partner, mou_in_force(home, partner) if partner else None


def valid_keys(agency: Agency, use: str, at: dt.datetime | None = None) -> list[AgencyKey]:
    at = at or timezone.now()
    return [key for key in agency.keys.filter(use=use) if key.is_valid_at(at)]


def public_jwks(agency: Agency, at: dt.datetime | None = None) -> dict:
    """The agency's currently valid public keys as a JWK set (RFC 7517)."""
    at = at or timezone.now()
    keys = []
    for key in agency.keys.order_by("use", "kid"):
        if key.is_valid_at(at):
            keys.append({**key.public_jwk, "kid": key.kid, "use": key.use})
    return {"keys": keys}


def convert_amount(amount, from_currency: str, to_currency: str):
    """Convert with the newest reference rates; None when a rate is missing."""
    from decimal import Decimal

    if from_currency == to_currency:
        return Decimal(amount)
    rates = {}
    for code in (from_currency, to_currency):
        rate = refcache.newest_rate(code)
        if code == "USD" and rate is None:
            rates[code] = Decimal(1)
        elif rate is None:
            return None
        else:
            rates[code] = rate.per_usd
    return Decimal(amount) / rates[from_currency] * rates[to_currency]


def scope_problems(mou: MoU, *, category_id, amount, currency: str) -> list[tuple[str, str]]:
    """Why a claim is outside an MoU's scope, as (code, message) pairs; empty if covered."""
    from django.utils.translation import gettext as _

    problems: list[tuple[str, str]] = []
    covered = refcache.mou_category_ids(mou)
    if covered and category_id not in covered:
        problems.append(("category_not_covered", _("This category is not covered by the MoU.")))
    if mou.max_claim_amount is not None and amount is not None:
        converted = convert_amount(amount, currency, mou.max_claim_currency)
        if converted is None:
            problems.append(
                (
                    "no_exchange_rate",
                    _("No exchange rate to compare this claim with the MoU's maximum."),
                )
            )
        elif converted > mou.max_claim_amount:
            problems.append(
                (
                    "claim_above_maximum",
                    _("The claim is above the MoU's maximum of %(amount)s %(currency)s.")
                    % {"amount": mou.max_claim_amount, "currency": mou.max_claim_currency},
                )
            )
    return problems


ONBOARDING_STATES = ("prospective", "pinged", "active", "suspended", "terminated")


def last_key_change(mou: MoU) -> dt.datetime | None:
    """When either party last pinned, announced or revoked a key (a ping before it is stale)."""
    latest = AgencyKey.objects.filter(agency_id__in=[mou.agency_a_id, mou.agency_b_id]).aggregate(
        Max("created_at"), Max("not_before"), Max("revoked_at")
    )
    return max((moment for moment in latest.values() if moment is not None), default=None)


def ping_is_current(mou: MoU) -> bool:
    """A ping to the partner was answered since the last key change on either side."""
    if mou.last_pong_at is None:
        return False
    changed = last_key_change(mou)
    return changed is None or mou.last_pong_at >= changed


def onboarding_state(mou: MoU) -> str:
    """prospective, pinged, active, suspended or terminated: what both sides show."""
    if mou.status == MoU.Status.DRAFT:
        return "pinged" if ping_is_current(mou) else "prospective"
    return str(mou.status)


def mou_named(first: Agency, second: Agency, reference: str) -> MoU | None:
    """The MoU between two agencies with this reference, whatever its status."""
    return mous_between(first, second).filter(reference=reference).first()


def latest_reason(mou: MoU) -> str:
    change = mou.status_changes.order_by("-changed_at", "-pk").first()
    return change.note if change else ""
