"""Health, readiness and metrics endpoints: thin, plain JSON or Prometheus text."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from . import metrics, selectors


@never_cache
@require_GET
def healthz(request):
    """The process is up and answering; says nothing about what it depends on."""
    return JsonResponse({"status": "ok", "node": settings.ODR_NODE})


@never_cache
@require_GET
def readyz(request):
    """Ready for traffic: database, broker and key files reachable, migrations applied."""
    checks = selectors.readiness()
    ready = all(check.ok for check in checks)
    body = {
        "status": "ok" if ready else "fail",
        "node": settings.ODR_NODE,
        "checks": {
            check.name: {"ok": check.ok, **({"detail": check.detail} if check.detail else {})}
            for check in checks
        },
    }
    return JsonResponse(body, status=200 if ready else 503)


@never_cache
@require_GET
def metrics_view(request):
    """Prometheus text. With ODR_METRICS_TOKEN set, only for ``Authorization: Bearer <it>``;
    without it, open outside production and refused in production."""
    token = settings.ODR_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return JsonResponse({"code": "metrics_token_invalid"}, status=401)
    elif settings.PRODUCTION:
        return JsonResponse({"code": "metrics_token_not_configured"}, status=403)
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
