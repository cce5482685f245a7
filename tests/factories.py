"""Factories for the domain, built through the services so that data is always consistent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from agencies.models import Agency, Category, Country, MoU
from disputes import services
from disputes.models import ProblemType, Remedy


class CaseworkerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"caseworker{n}")
    first_name = "Siti"
    last_name = factory.Sequence(lambda n: f"Rahma{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@agency.example")
    is_staff = True

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        self.set_password("correct horse battery staple")
        self.save()
        self.groups.add(Group.objects.get(name="Caseworkers"))


def file_dispute(
    *,
    merchant_country: str = "KR",
    amount: Decimal = Decimal("1250000"),
    currency: str = "IDR",
    category: str = "electronics",
    problems=("non_delivery",),
    home: str | None = None,
    now: dt.datetime | None = None,
    **overrides,
):
    """File a typical Indonesian consumer's dispute against a Korean web shop."""
    fields = dict(
        actor=services.Actor.consumer("Dewi Lestari"),
        consumer_name="Dewi Lestari",
        consumer_email="dewi@example.id",
        consumer_phone="+62 812 0000 1111",
        consumer_country=Country.objects.get(code="ID"),
        consumer_language="id",
        merchant_name="Seoul Gadget Store",
        merchant_website="https://seoulgadget.example.kr",
        merchant_country=Country.objects.get(code=merchant_country),
        purchase_date=dt.date(2026, 10, 1),
        order_number="SGS-2026-88812",
        amount=amount,
        currency=currency,
        payment_method="card",
        platform="Seoul Gadget web shop",
        category=Category.objects.get(code=category),
        problem_types=ProblemType.objects.filter(code__in=problems),
        desired_remedy=Remedy.objects.get(code="refund"),
        consumer_account="Saya membayar headphone tetapi barang tidak pernah dikirim.",
        filing_language="id",
        intake_channel="web",
        home_agency=Agency.objects.get(code=home) if home else None,
        now=now,
    )
    fields.update(overrides)
    return services.file_dispute(**fields)


def active_mou(first: str = "ID-BPKN", second: str = "KR-KCA") -> MoU:
    from agencies.selectors import active_mou_between

    return active_mou_between(Agency.objects.get(code=first), Agency.objects.get(code=second))


class SupervisorFactory(CaseworkerFactory):
    """A supervisor: assigns and reassigns, sees the whole queue, the workload and who read what."""

    username = factory.Sequence(lambda n: f"supervisor{n}")
    first_name = "Ratna"

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        from casework.roles import SUPERVISORS, ensure_roles

        ensure_roles()  # a test that flushed the database took the groups with it
        self.set_password("correct horse battery staple")
        self.save()
        self.groups.add(Group.objects.get(name=SUPERVISORS))


def staff_of_agency(user, agency_code: str):
    """Make ``user`` a member of another agency's staff who has an account on this node."""
    from agencies.models import Agency
    from casework.models import StaffMember

    StaffMember.objects.update_or_create(
        user=user, defaults={"agency": Agency.objects.get(code=agency_code)}
    )
    return user
