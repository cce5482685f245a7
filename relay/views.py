"""The relay's HTTP endpoints: the public key set and the packet inbox."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from agencies.selectors import public_jwks, this_agency
from odr.net import client_address

from . import cards, packets
from .inbox import (
    INBOX_REFUSAL_WINDOW_SECONDS,
    count_unauthenticated_refusals,
    inbox_source_blocked,
    receive_batch,
    receive_packet,
)
from .packets import BATCH_CONTENT_TYPE


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(public_jwks(this_agency()))
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _answer_data(http_status: int, receipt: str | None, code: str) -> dict:
    data: dict = {"code": code, "receipt": receipt}
    if receipt:
        claims = packets.decode_receipt_claims(receipt)
        data.update(status=claims["status"], pid=claims["pid"], detail=claims.get("detail", ""))
    else:
        data.update(status="refused", pid=None, detail="")
    return data


def _answer(http_status: int, receipt: str | None, code: str) -> JsonResponse:
    return JsonResponse(_answer_data(http_status, receipt, code), status=http_status)


def _batch_error(http_status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail, "results": None}, status=http_status)


def _batch(body: bytes, source: str) -> JsonResponse:
    """Several packets in one request (protocol 5.1): one answer per packet, in order."""
    try:
        data = json.loads(body)
    except ValueError:
        return _batch_error(400, "invalid_batch", "the body is not JSON")
    sealed = data.get("packets") if isinstance(data, dict) else None
    if not isinstance(sealed, list) or not sealed or not all(isinstance(s, str) for s in sealed):
        return _batch_error(400, "invalid_batch", 'expected {"packets": [compact JWE, ...]}')
    if len(sealed) > settings.ODR_RELAY_BATCH_MAX:
        return _batch_error(
            413, "batch_too_large", f"at most {settings.ODR_RELAY_BATCH_MAX} packets per request"
        )
    answers = receive_batch(sealed)
    count_unauthenticated_refusals(source, answers)
    results = [{**_answer_data(*answer), "http_status": answer[0]} for answer in answers]
    return JsonResponse({"results": results})


def _rate_limited() -> JsonResponse:
    response = JsonResponse(
        {
            "code": "rate_limited",
            "status": "refused",
            "pid": None,
            "detail": "too many packets from this address failed before their signature was "
            "checked; try again later",
            "receipt": None,
        },
        status=429,
    )
    response["Retry-After"] = str(INBOX_REFUSAL_WINDOW_SECONDS)
    return response


# Packets are authenticated by their signature, not by a session: CSRF does not apply.
@csrf_exempt
@never_cache
@require_POST
def inbox(request: HttpRequest) -> JsonResponse:
    source = client_address(request)
    if inbox_source_blocked(source):
        return _rate_limited()
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > settings.ODR_MAX_PACKET_BYTES:
        # Refused before reading a body that large.
        answers = [receive_packet(b"", declared_size=declared)]
    else:
        try:
            body = request.body
        except RequestDataTooBig:
            # No Content-Length (chunked) and more than Django reads into memory.
            too_large = settings.ODR_MAX_PACKET_BYTES + 1
            answers = [receive_packet(b"", declared_size=too_large)]
        else:
            content_type = request.META.get("CONTENT_TYPE", "")
            if content_type.split(";")[0].strip().lower() == BATCH_CONTENT_TYPE:
                return _batch(body, source)
            answers = [receive_packet(body, content_type=content_type)]
    count_unauthenticated_refusals(source, answers)
    return _answer(*answers[0])


@require_GET
def partner_card(request: HttpRequest) -> JsonResponse:
    """This node's partner card (docs/protocol.md, 1.4): who we are and our public keys."""
    response = JsonResponse(cards.own_card(), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response
