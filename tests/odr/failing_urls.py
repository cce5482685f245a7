"""The project's URLs and views that fail, for the tests of error pages and answers."""

from django.core.cache import cache
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from odr.urls import handler400, handler403, handler404, handler500  # noqa: F401


def fails(request):
    raise RuntimeError("a bug in a view")


class Counter(APIView):
    """An API view that needs a counter in Redis."""

    authentication_classes = []
    permission_classes = []

    def get(self, request):
        cache.add("test-counter", 0)
        return Response({"count": cache.incr("test-counter")})


urlpatterns = [
    path("api/counter/", Counter.as_view()),
    path("fails/", fails),
    path("api/fails/", fails),
    path("", include("odr.urls")),
]
