"""Request ids and request metrics: the first two middlewares of every request."""

from __future__ import annotations

import logging
import re
import time
import uuid

from odr.logs import log_context

from . import metrics

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


class RequestMetricsMiddleware:
    """Counts every request by method and status, and times it (odr_http_requests_total)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        metrics.observe_request(request.method, response.status_code, time.monotonic() - started)
        return response
