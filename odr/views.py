"""Error pages: machine clients of /api/ get the API's JSON error envelope, people get a page in
their language that says what happened and where to go next."""

import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

from odr.errors import envelope

logger = logging.getLogger(__name__)


def _wants_api_error(request) -> bool:
    return request.path.startswith("/api/")


def _page(request, template: str, status: int, fallback) -> HttpResponse:
    try:
        # A 500 is rendered without the request: its context processors read the database,
        # which may be what failed.
        body = loader.render_to_string(
            template,
            {"status": status, "odr_node": settings.ODR_NODE},
            request=None if status >= 500 else request,
        )
    except Exception:
        logger.exception("the %s error page could not be rendered", status)
        return fallback()
    return HttpResponse(body, status=status)


def bad_request(request, exception):
    if _wants_api_error(request):
        return JsonResponse(envelope("bad_request", _("Bad request.")), status=400)
    return _page(request, "400.html", 400, lambda: defaults.bad_request(request, exception))


def permission_denied(request, exception):
    if _wants_api_error(request):
        return JsonResponse(envelope("permission_denied", _("You may not do this.")), status=403)
    return _page(request, "403.html", 403, lambda: defaults.permission_denied(request, exception))


def csrf_failure(request, reason=""):
    """A form sent without a valid CSRF token (expired page, blocked cookie): say how to retry."""
    from django.views.csrf import csrf_failure as default_csrf_failure

    return _page(request, "403_csrf.html", 403, lambda: default_csrf_failure(request, reason))


def page_not_found(request, exception):
    if _wants_api_error(request):
        return JsonResponse(envelope("not_found", _("Not found.")), status=404)
    return _page(request, "404.html", 404, lambda: defaults.page_not_found(request, exception))


def server_error(request):
    if _wants_api_error(request):
        return JsonResponse(
            envelope("internal_error", _("Something went wrong on our side; please try again.")),
            status=500,
        )
    return _page(request, "500.html", 500, lambda: defaults.server_error(request))
