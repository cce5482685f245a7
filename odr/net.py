"""Who is on the other end of a request, for per-address limits."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address.

    Behind ``ODR_TRUSTED_PROXIES`` reverse proxies, each of which appends the address it saw to
    ``X-Forwarded-For`` (nginx's ``$proxy_add_x_forwarded_for``), it is the address the
    outermost of them saw: the entries further left were written by the client and prove
    nothing. Without proxies, ``REMOTE_ADDR``.
    """
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    proxies = settings.ODR_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        # The proxy did not say: count the request against the proxy's own address.
        return remote
    return forwarded[-proxies]
