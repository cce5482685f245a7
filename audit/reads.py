"""The one way staff views, the API and exports log that they showed a dispute's personal data."""

from __future__ import annotations

from functools import wraps

from .services import record_read


def logs_personal_data_read(what: str):
    """Decorate a view (function or class method) taking ``reference``: after it answers 2xx,
    write that its user read that dispute. Refusals and 404s are not reads and are not logged."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            response = view(*args, **kwargs)
            if 200 <= response.status_code < 300:
                request = next(arg for arg in args if hasattr(arg, "method"))
                record_read(request.user, kwargs["reference"], what)
            return response

        return wrapped

    return decorate
