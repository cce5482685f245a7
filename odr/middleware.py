"""Show times in the viewer's zone: their own choice, else the zone of this node's agency."""

import zoneinfo

from django.utils import timezone


class ViewerTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.session.get("odr_timezone") if hasattr(request, "session") else None
        if not name:
            from agencies.selectors import this_agency_timezone

            name = this_agency_timezone()
        try:
            timezone.activate(zoneinfo.ZoneInfo(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
