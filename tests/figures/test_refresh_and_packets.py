"""The nightly rebuild as beat and operators run it, who may see the figures, and the delivery
health of case packets per partner."""

from __future__ import annotations

import datetime as dt
import io

from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from ulid import ULID

from agencies.models import Agency
from figures import selectors, tasks
from figures.models import FiguresRefresh, MonthlyFigure
from relay.models import OutboundPacket
from tests.factories import CaseworkerFactory


def test_beat_rebuilds_the_figures_every_night(history):
    entry = settings.CELERY_BEAT_SCHEDULE["figures-refresh"]
    assert entry["task"] == "figures.tasks.refresh_figures"
    assert tasks.refresh_figures.apply().get() == 5
    assert MonthlyFigure.objects.filter(measure="filed").exists()
    assert FiguresRefresh.objects.count() == 1


def test_an_operator_can_rebuild_them_at_once(history):
    out = io.StringIO()
    call_command("refresh_figures", stdout=out)
    assert out.getvalue().startswith("5 disputes counted in ")
    assert selectors.last_refresh() is not None


def test_the_permission_lets_a_caseworker_of_this_agency_see_them(seeded):
    user = CaseworkerFactory()
    assert not selectors.can_view_statistics(user)
    user.user_permissions.add(Permission.objects.get(codename="view_statistics"))
    user = User.objects.get(pk=user.pk)  # permissions are cached on the instance
    assert selectors.can_view_statistics(user)
    user.is_active = False
    assert not selectors.can_view_statistics(user)


def _packet(recipient: Agency, state: str, created: dt.datetime, took: float | None = None):
    return OutboundPacket.objects.create(
        pid=str(ULID()),
        type="dispute.message",
        recipient=recipient,
        mou_reference="MOU-BPKN-KCA-2021",
        body={},
        state=state,
        created_at=created,
        deadline_at=created + dt.timedelta(hours=72),
        receipt_at=created + dt.timedelta(seconds=took) if took is not None else None,
    )


def test_packet_delivery_health_per_partner(seeded):
    kca, uk = seeded["KR-KCA"], seeded["GB-UKICC"]
    february = dt.datetime(2026, 2, 10, 3, 0, tzinfo=dt.UTC)
    for took in (10, 40, 20):
        _packet(kca, "acknowledged", february, took)
    _packet(kca, "dead", february)
    _packet(kca, "refused", february, 5)
    _packet(kca, "sent", february)
    _packet(uk, "queued", february)
    _packet(kca, "acknowledged", dt.datetime(2026, 4, 1, 3, tzinfo=dt.UTC), 999)  # not in period

    health = selectors.packet_health(selectors.Filters(dt.date(2026, 2, 1), dt.date(2026, 3, 1)))
    by_partner = {row["code"]: row for row in health}
    assert by_partner["KR-KCA"] == {
        "code": "KR-KCA",
        "label": "KCA",
        "queued": 0,
        "sent": 1,
        "acknowledged": 3,
        "refused": 1,
        "dead": 1,
        "median_delivery_seconds": 20.0,
    }
    assert by_partner["GB-UKICC"]["queued"] == 1
    assert by_partner["GB-UKICC"]["median_delivery_seconds"] is None
    only_uk = selectors.packet_health(
        selectors.Filters(dt.date(2026, 2, 1), dt.date(2026, 3, 1), partner=uk)
    )
    assert [row["code"] for row in only_uk] == ["GB-UKICC"]
