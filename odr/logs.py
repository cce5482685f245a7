"""Structured logs: one JSON object a line, with the ids that tie lines together.

Every line carries the node, and when known the request id (``X-Request-ID``, set by
``odr.middleware.RequestIdMiddleware``), the Celery task id and the case packet id. A packet's
id is the ``pid`` it carries across the wire (docs/protocol.md), so the sender's lines about a
packet and the receiver's lines about the same packet share ``packet_id``: grep both nodes'
logs for it to follow the packet.

Logs must hold no personal data and no secrets. Code logs ids, never names, addresses, bodies
or keys; as a second line of defence the formatter masks email addresses, the capability token
of tracking links and bearer credentials in whatever a message or traceback says.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import re
from collections.abc import Iterator

from django.conf import settings

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
packet_id: contextvars.ContextVar[str] = contextvars.ContextVar("packet_id", default="")
task_id: contextvars.ContextVar[str] = contextvars.ContextVar("task_id", default="")
_IDS = {"request_id": request_id, "packet_id": packet_id, "task_id": task_id}

_MASKS = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(/track/)[^/\s\"']+"), r"\1[token]"),
    (re.compile(r"(?i)(bearer\s+|api-key\s+|authorization:\s*)\S+"), r"\1[secret]"),
)


def mask(text: str) -> str:
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


@contextlib.contextmanager
def log_context(**ids: str) -> Iterator[None]:
    """Within the block, every log line carries these ids (request_id, packet_id, task_id)."""
    tokens = [(_IDS[name], _IDS[name].set(value or "")) for name, value in ids.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, node and the context ids."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
            "node": settings.ODR_NODE,
        }
        for name, var in _IDS.items():
            value = getattr(record, name, "") or var.get()
            if value:
                line[name] = value
        for name in ("method", "route", "status", "duration_ms", "partner", "state", "dispute"):
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """The development format, masked the same way."""

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))
