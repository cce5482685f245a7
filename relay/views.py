"""The relay's HTTP endpoints: the public key set and the packet inbox."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from agencies.selectors import public_jwks, this_agency

from . import services


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(public_jwks(this_agency()))
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _answer(http_status: int, receipt: str | None, code: str) -> JsonResponse:
    data: dict = {"code": code, "receipt": receipt}
    if receipt:
        claims = services.decode_receipt_claims(receipt)
        data.update(status=claims["status"], pid=claims["pid"], detail=claims.get("detail", ""))
    else:
        data.update(status="refused", pid=None, detail="")
    return JsonResponse(data, status=http_status)


# Packets are authenticated by their signature, not by a session: CSRF does not apply.
@csrf_exempt
@never_cache
@require_POST
def inbox(request: HttpRequest) -> JsonResponse:
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > settings.ODR_MAX_PACKET_BYTES:
        # Refused before reading a body that large.
        return _answer(*services.receive_packet(b"", declared_size=declared))
    try:
        body = request.body
    except RequestDataTooBig:
        # No Content-Length (chunked) and more than Django reads into memory.
        too_large = settings.ODR_MAX_PACKET_BYTES + 1
        return _answer(*services.receive_packet(b"", declared_size=too_large))
    return _answer(
        *services.receive_packet(body, content_type=request.META.get("CONTENT_TYPE", ""))
    )
