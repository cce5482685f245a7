"""The project's URLs and two views that fail, for the tests of the server error page."""

from django.urls import include, path

from odr.urls import handler400, handler403, handler404, handler500  # noqa: F401


def fails(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [
    path("fails/", fails),
    path("api/fails/", fails),
    path("", include("odr.urls")),
]
