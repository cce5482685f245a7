"""HTTPS POST of sealed packets; one connection pool per worker process."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import httpx
from django.conf import settings

from .packets import CONTENT_TYPE

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


def post_packet(url: str, sealed: str) -> Response:
    if not url:
        raise TransportError("the recipient has no inbox URL")
    if url.startswith("http://"):
        if not settings.ODR_RELAY_ALLOW_HTTP:
            raise TransportError("plain http is not allowed (ODR_RELAY_ALLOW_HTTP is off)")
    elif not url.startswith("https://"):
        raise TransportError(f"not an http(s) URL: {url!r}")
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
