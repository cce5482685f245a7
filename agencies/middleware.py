"""Show times in the viewer's zone: their browser's zone if it told us, else the agency's zone.

A small script in base.html stores the browser's IANA zone name in the ``odr_timezone`` cookie;
without JavaScript the viewer sees the zone of this node's agency, named on the page.
"""

import functools
import logging
import re
import time
import uuid
import zoneinfo

from django.utils import timezone

from odr.logs import log_context

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


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_QUIET_ROUTES = frozenset({"healthz", "readyz", "metrics"})
request_logger = logging.getLogger("odr.request")


class RequestIdMiddleware:
    """Give each request an id (the proxy's ``X-Request-ID`` if it is a sane one, else a new
    one), return it in the response, put it on every log line of the request, and log the
    request once: method, route pattern (never the path, which may hold a tracking link's
    token), status and duration."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid
        started = time.monotonic()
        with log_context(request_id=rid):
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            route = (match.route if match else "") or "-"
            request_logger.log(
                logging.DEBUG if match and match.url_name in _QUIET_ROUTES else logging.INFO,
                "%s %s %s",
                request.method,
                route,
                response.status_code,
                extra={
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
        response["X-Request-ID"] = rid
        return response
