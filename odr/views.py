"""Error pages: machine clients of /api/ get the API's JSON error envelope, people get HTML."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

from api.errors import envelope


def _wants_api_error(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception):
    if _wants_api_error(request):
        return JsonResponse(envelope("not_found", _("Not found.")), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _wants_api_error(request):
        return JsonResponse(
            envelope("internal_error", _("Something went wrong on our side; please try again.")),
            status=500,
        )
    return defaults.server_error(request)
