"""Reads for the merchant watch: one agency's disputes grouped by the merchant they are against
(``Dispute.merchant_key``), for the repeat-merchant flag on the queue, the merchant pages and
enforcement referrals.

Every count here is an agency's own: disputes where it is home or partner, never another
agency's on the same node. The counts are answered from the ``dispute_merchant_watch`` index
(key, filed, and the agency and status columns it carries) without reading the table.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from agencies.models import Agency

from .models import Dispute, Merchant, Status

# Open: no outcome yet. Every other status is an outcome (settled, not settled, referred,
# out of scope, withdrawn) or a case closed after one.
OPEN = (
    Status.SUBMITTED,
    Status.UNDER_REVIEW,
    Status.CLARIFICATION_REQUESTED,
    Status.FORWARDED,
    Status.ACCEPTED_BY_PARTNER,
    Status.MERCHANT_CONTACTED,
    Status.NEGOTIATION,
    Status.MEDIATION,
)


def of_agency(agency: Agency) -> Q:
    return Q(home_agency=agency) | Q(partner_agency=agency)


def repeat_window_start(now: dt.datetime | None = None) -> dt.datetime:
    """Disputes filed since then count towards the repeat-merchant flag."""
    return (now or timezone.now()) - dt.timedelta(days=settings.ODR_REPEAT_MERCHANT_WINDOW_DAYS)


def merchant_dispute_counts(
    agency: Agency, keys, *, since: dt.datetime | None = None
) -> dict[str, int]:
    """How many of the agency's disputes filed since ``since`` (the repeat window) each of these
    merchants has: one query, for the rows of a queue page."""
    keys = {key for key in keys if key}
    if not keys:
        return {}
    rows = (
        Dispute.objects.filter(of_agency(agency), merchant_key__in=keys)
        .filter(filed_at__gte=since or repeat_window_start())
        .order_by()
        .values("merchant_key")
        .annotate(disputes=Count("pk"))
    )
    return {row["merchant_key"]: row["disputes"] for row in rows}


def is_repeat(count: int | None) -> bool:
    return (count or 0) >= settings.ODR_REPEAT_MERCHANT_THRESHOLD


def merchants_of(
    agency: Agency,
    *,
    since: dt.datetime | None = None,
    at_least: int | None = None,
    search: str = "",
    limit: int = 100,
) -> list[dict]:
    """The merchants with the most of the agency's disputes filed since ``since``, with at least
    ``at_least`` of them (the repeat threshold unless given): key, name, disputes, open ones,
    the latest filing. ``search`` narrows to keys or names containing it."""
    at_least = settings.ODR_REPEAT_MERCHANT_THRESHOLD if at_least is None else at_least
    disputes = Dispute.objects.filter(
        of_agency(agency), filed_at__gte=since or repeat_window_start()
    )
    disputes = disputes.exclude(merchant_key="")
    search = search.strip()
    if search:
        disputes = disputes.filter(
            Q(merchant_key__icontains=search) | Q(merchant_name__icontains=search)
        )
    rows = list(
        disputes.order_by()
        .values("merchant_key")
        .annotate(
            disputes=Count("pk"),
            open=Count("pk", filter=Q(status__in=OPEN)),
            latest=Max("filed_at"),
        )
        .filter(disputes__gte=max(at_least, 1))
        .order_by("-disputes", "merchant_key")[:limit]
    )
    names = merchant_names(agency, [row["merchant_key"] for row in rows])
    for row in rows:
        row["name"] = names.get(row["merchant_key"], "")
        row["repeat"] = is_repeat(row["disputes"])
    return rows


def merchant_names(agency: Agency, keys: list[str]) -> dict[str, str]:
    """The name each merchant goes by: as on record, else as in the latest dispute against it."""
    names = dict(Merchant.objects.filter(key__in=keys).values_list("key", "name"))
    missing = [key for key in keys if key not in names]
    if missing:
        latest = (
            Dispute.objects.filter(of_agency(agency), merchant_key__in=missing)
            .order_by("merchant_key", "-filed_at")
            .values_list("merchant_key", "merchant_name")
        )
        for key, name in latest:
            names.setdefault(key, name)
    return names


@dataclass
class MerchantRecord:
    """One merchant as the agency's disputes show it."""

    key: str
    name: str
    disputes: int
    open: int
    by_status: list[tuple[str, str, int]]  # status, label, count
    claimed: list[dict]  # per currency: currency, disputes, amount
    recovered: list[dict]  # per currency: currency, disputes, amount
    partners: list[dict]  # the other agency: agency, disputes
    first_filed: dt.datetime | None
    last_filed: dt.datetime | None
    names: list[str] = field(default_factory=list)
    websites: list[str] = field(default_factory=list)
    on_record: Merchant | None = None

    @property
    def resolved(self) -> int:
        """With an outcome: settled, not settled, referred, out of scope, withdrawn, closed."""
        return self.disputes - self.open

    @property
    def repeat(self) -> bool:
        return is_repeat(self.disputes)


def merchant_disputes(agency: Agency, key: str) -> QuerySet[Dispute]:
    return Dispute.objects.filter(of_agency(agency), merchant_key=key)


def merchant_record(agency: Agency, key: str) -> MerchantRecord | None:
    """Everything the agency's disputes say about one merchant; None when it has none."""
    disputes = merchant_disputes(agency, key).order_by()
    by_status = dict(disputes.values_list("status").annotate(count=Count("pk")))
    if not by_status:
        return None
    labels = dict(Status.choices)
    span = disputes.aggregate(first=Min("filed_at"), last=Max("filed_at"))
    claimed = [
        {"currency": currency, "disputes": count, "amount": total or Decimal(0)}
        for currency, count, total in disputes.values_list("currency")
        .annotate(count=Count("pk"), total=Sum("amount"))
        .order_by("currency")
    ]
    recovered = [
        {"currency": currency, "disputes": count, "amount": total or Decimal(0)}
        for currency, count, total in disputes.filter(
            status__in=(Status.SETTLED, Status.CLOSED), settlement_amount__isnull=False
        )
        .values_list("settlement_currency")
        .annotate(count=Count("pk"), total=Sum("settlement_amount"))
        .order_by("settlement_currency")
    ]
    partners: dict[int, int] = defaultdict(int)
    for home, partner, count in disputes.values_list("home_agency", "partner_agency").annotate(
        count=Count("pk")
    ):
        other = partner if home == agency.pk else home
        if other is not None:
            partners[other] += count
    agencies = Agency.objects.in_bulk(list(partners))
    names = list(
        disputes.values_list("merchant_name", flat=True).distinct().order_by("merchant_name")[:5]
    )
    websites = list(
        disputes.exclude(merchant_website="")
        .values_list("merchant_website", flat=True)
        .distinct()
        .order_by("merchant_website")[:5]
    )
    on_record = Merchant.objects.filter(key=key).first()
    return MerchantRecord(
        key=key,
        name=on_record.name if on_record else (names[0] if names else key),
        disputes=sum(by_status.values()),
        open=sum(count for status, count in by_status.items() if status in OPEN),
        by_status=[
            (status, labels.get(status, status), by_status[status])
            for status in Status.values
            if status in by_status
        ],
        claimed=claimed,
        recovered=recovered,
        partners=sorted(
            (
                {"agency": agencies[pk], "disputes": count}
                for pk, count in partners.items()
                if pk in agencies
            ),
            key=lambda row: (-row["disputes"], row["agency"].code),
        ),
        first_filed=span["first"],
        last_filed=span["last"],
        names=names,
        websites=websites,
        on_record=on_record,
    )
