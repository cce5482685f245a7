"""Times are stored in UTC and shown in the viewer's zone."""

import datetime as dt

from django.template import Context, Template
from django.test import RequestFactory

from agencies.middleware import ViewerTimezoneMiddleware

MOMENT = dt.datetime(2026, 11, 25, 1, 30, tzinfo=dt.UTC)


def render_time(request) -> str:
    def view(request):
        from django.http import HttpResponse

        return HttpResponse(Template("{{ moment|time:'H:i' }}").render(Context({"moment": MOMENT})))

    return ViewerTimezoneMiddleware(view)(request).content.decode()


def test_the_browsers_zone_wins(seeded):
    request = RequestFactory().get("/", HTTP_COOKIE="odr_timezone=Asia/Seoul")
    assert render_time(request) == "10:30"


def test_without_it_the_agencys_zone_is_used_and_nonsense_is_ignored(seeded):
    assert render_time(RequestFactory().get("/")) == "08:30"  # Jakarta, UTC+7
    request = RequestFactory().get("/", HTTP_COOKIE="odr_timezone=Mars/Olympus")
    assert render_time(request) == "08:30"
