"""Show times in the viewer's zone: their browser's zone if it told us, else the agency's zone.

A small script in base.html stores the browser's IANA zone name in the ``odr_timezone`` cookie;
without JavaScript the viewer sees the zone of this node's agency, named on the page.
"""

import functools
import zoneinfo

from django.utils import timezone

TIMEZONE_COOKIE = "odr_timezone"


@functools.cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())  # scans the disk: once per process


def viewer_zone_name(request) -> str:
    name = request.COOKIES.get(TIMEZONE_COOKIE, "")
    if name and name in known_zones():
        return name
    from agencies.selectors import this_agency_timezone

    return this_agency_timezone()


class ViewerTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            timezone.activate(zoneinfo.ZoneInfo(viewer_zone_name(request)))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
