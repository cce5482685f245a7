import time

from . import metrics


class RequestMetricsMiddleware:
    """Counts every request by method and status, and times it (odr_http_requests_total)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        metrics.observe_request(request.method, response.status_code, time.monotonic() - started)
        return response
