"""Domain errors carry a stable, machine-readable code; the API turns them into HTTP 409/400."""

from __future__ import annotations


class DomainError(Exception):
    """Something the domain forbids; ``code`` is stable, ``message`` is for people."""

    code = "domain_error"
    http_status = 409

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.details = details or {}


class IllegalTransition(DomainError):
    code = "illegal_transition"


class NotAllowed(DomainError):
    code = "not_allowed"
    http_status = 403


class OutOfScope(DomainError):
    code = "out_of_scope"


class InvalidInput(DomainError):
    code = "invalid"
    http_status = 400


def envelope(code: str, message: str, **extra) -> dict:
    """The JSON error envelope of the API and of JSON error pages (api/errors.py documents it)."""
    error = {"code": code, "message": str(message)}
    error.update({key: value for key, value in extra.items() if value})
    return {"error": error}
