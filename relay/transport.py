"""HTTPS POST of sealed packets, one at a time or in a batch; one connection pool per process."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import httpx
from django.conf import settings

from .packets import BATCH_CONTENT_TYPE, CONTENT_TYPE

_client: httpx.Client | None = None
_client_pid: int | None = None
_lock = threading.Lock()


class TransportError(Exception):
    """The packet could not be handed over (connection, timeout, refused scheme)."""


@dataclass(frozen=True)
class Response:
    status_code: int
    json: dict | None
    text: str


def client() -> httpx.Client:
    """The process's client; a forked worker child builds its own instead of sharing sockets."""
    global _client, _client_pid
    with _lock:
        if _client is None or _client_pid != os.getpid():
            _client = httpx.Client(
                timeout=httpx.Timeout(settings.ODR_RELAY_TIMEOUT_SECONDS),
                limits=httpx.Limits(max_keepalive_connections=20, max_connections=50),
                follow_redirects=False,
                headers={"User-Agent": f"odr-relay/1 ({settings.ODR_NODE})"},
            )
            _client_pid = os.getpid()
        return _client


def _check_url(url: str) -> None:
    if not url:
        raise TransportError("the recipient has no inbox URL")
    if url.startswith("http://"):
        if not settings.ODR_RELAY_ALLOW_HTTP:
            raise TransportError("plain http is not allowed (ODR_RELAY_ALLOW_HTTP is off)")
    elif not url.startswith("https://"):
        raise TransportError(f"not an http(s) URL: {url!r}")


def post_packet(url: str, sealed: str) -> Response:
    _check_url(url)
    try:
        response = client().post(
            url,
            content=sealed.encode("ascii"),
            headers={"Content-Type": CONTENT_TYPE, "Accept": "application/json"},
        )
    except httpx.HTTPError as error:
        raise TransportError(f"{type(error).__name__}: {error}") from error
    try:
        data = response.json()
    except ValueError:
        data = None
    return Response(response.status_code, data if isinstance(data, dict) else None, response.text)


class BatchNotAccepted(Exception):
    """The receiver does not take this batch as a batch (it predates batches, or it is over its
    limits): the sender sends the packets one at a time instead."""


# Answers that mean "not as a batch", with no receipts: the packets were not looked at.
BATCH_DECLINED = frozenset({404, 405, 413, 415})


def post_batch(url: str, sealed: list[str]) -> list[Response]:
    """POST several packets in one request; one answer per packet, in the order sent.

    Each answer is exactly what a single POST of that packet would have got (protocol 5.1).
    """
    _check_url(url)
    try:
        response = client().post(
            url,
            json={"packets": sealed},
            headers={"Content-Type": BATCH_CONTENT_TYPE, "Accept": "application/json"},
        )
    except httpx.HTTPError as error:
        raise TransportError(f"{type(error).__name__}: {error}") from error
    if response.status_code in BATCH_DECLINED:
        raise BatchNotAccepted(f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        data = response.json()
    except ValueError:
        data = None
    results = data.get("results") if isinstance(data, dict) else None
    if response.status_code != 200 or not isinstance(results, list) or len(results) != len(sealed):
        raise TransportError(
            f"HTTP {response.status_code} without batch results: {response.text[:300]}"
        )
    answers = []
    for result in results:
        if not isinstance(result, dict):
            answers.append(Response(502, None, "not an object"))
            continue
        status = result.get("http_status")
        answers.append(Response(status if isinstance(status, int) else 502, result, ""))
    return answers
