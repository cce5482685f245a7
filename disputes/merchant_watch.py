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
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
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


def against_a_repeat_merchant(agency: Agency, *, since: dt.datetime | None = None) -> Exists:
    """An expression for a queryset of disputes: whether each one's merchant has at least the
    threshold of the agency's disputes filed since ``since`` (the repeat window).

    Part of the queue page's own query (no query more per page), and it stops at the
    threshold-th dispute (``EXISTS … OFFSET threshold - 1``) instead of counting them all: a
    merchant with thousands of disputes costs what one with three does. The count itself is on
    the merchant's page.
    """
    threshold = max(settings.ODR_REPEAT_MERCHANT_THRESHOLD, 1)
    same_merchant = (
        merchant_disputes(agency, OuterRef("merchant_key"))
        # Written out so that PostgreSQL may use the partial index (it cannot infer it).
        .exclude(merchant_key="")
        .filter(filed_at__gte=since or repeat_window_start())
        .order_by()
    )
    return Exists(same_merchant[threshold - 1 : threshold])


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
            # Columns the index carries (not the id), so that it alone can answer.
            disputes=Count("*"),
            open=Count("status", filter=Q(status__in=OPEN)),
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
    """The name each merchant goes by: as on record, else as in the latest dispute against it
    (one row per merchant, found by the merchant-watch index, not all of its disputes)."""
    names = dict(Merchant.objects.filter(key__in=keys).values_list("key", "name"))
    latest = [
        Subquery(
            merchant_disputes(agency, key)
            .exclude(merchant_key="")
            .order_by("-filed_at")
            .values("pk")[:1]
        )
        for key in keys
        if key and key not in names
    ]
    if latest:
        names.update(
            Dispute.objects.filter(pk__in=latest).values_list("merchant_key", "merchant_name")
        )
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


def merchant_disputes(agency: Agency, key: str | OuterRef) -> QuerySet[Dispute]:
    return Dispute.objects.filter(of_agency(agency), merchant_key=key)


def merchant_record(agency: Agency, key: str) -> MerchantRecord | None:
    """Everything the agency's disputes say about one merchant; None when it has none.

    One pass over its disputes, grouped by everything the page breaks them down by, folded here:
    a merchant with 20,000 disputes is read once, not once per figure.
    """
    disputes = merchant_disputes(agency, key).order_by()
    groups = list(
        disputes.values_list(
            "status", "currency", "settlement_currency", "home_agency", "partner_agency"
        ).annotate(
            count=Count("pk"),
            paid=Sum("amount"),
            settled=Count("settlement_amount"),
            recovered=Sum("settlement_amount"),
            first=Min("filed_at"),
            last=Max("filed_at"),
        )
    )
    if not groups:
        return None
    by_status: dict[str, int] = defaultdict(int)
    claimed: dict[str, dict] = {}
    recovered: dict[str, dict] = {}
    partners: dict[int, int] = defaultdict(int)
    for status, currency, settled_in, home, partner, count, paid, settled, back, _f, _l in groups:
        by_status[status] += count
        row = claimed.setdefault(currency, {"currency": currency, "disputes": 0, "amount": 0})
        row["disputes"] += count
        row["amount"] += paid or Decimal(0)
        if settled and status in (Status.SETTLED, Status.CLOSED):
            currency = settled_in or currency
            row = recovered.setdefault(currency, {"currency": currency, "disputes": 0, "amount": 0})
            row["disputes"] += settled
            row["amount"] += back or Decimal(0)
        other = partner if home == agency.pk else home
        if other is not None:
            partners[other] += count
    agencies = Agency.objects.in_bulk(list(partners))
    recent = disputes.order_by("-filed_at").values_list("merchant_name", "merchant_website")[:200]
    names = sorted({name for name, _website in recent})[:5]
    websites = sorted({website for _name, website in recent if website})[:5]
    on_record = Merchant.objects.filter(key=key).first()
    labels = dict(Status.choices)
    disputes_count = sum(by_status.values())
    return MerchantRecord(
        key=key,
        name=on_record.name if on_record else (recent[0][0] if recent else key),
        disputes=disputes_count,
        open=sum(count for status, count in by_status.items() if status in OPEN),
        by_status=[
            (status, labels.get(status, status), by_status[status])
            for status in Status.values
            if status in by_status
        ],
        claimed=[claimed[currency] for currency in sorted(claimed)],
        recovered=[recovered[currency] for currency in sorted(recovered)],
        partners=sorted(
            (
                {"agency": agencies[pk], "disputes": count}
                for pk, count in partners.items()
                if pk in agencies
            ),
            key=lambda row: (-row["disputes"], row["agency"].code),
        ),
        first_filed=min(group[9] for group in groups),
        last_filed=max(group[10] for group in groups),
        names=names,
        websites=websites,
        on_record=on_record,
    )
