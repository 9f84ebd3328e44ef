"""Error responses: JSON under /api/ (as the schema documents), the site's own pages elsewhere,
with its header and a way back, instead of Django's bare "Not Found"."""

from __future__ import annotations

import sys

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "You are not allowed to do that."),
    404: ("Not found", "There is nothing here, or it is not yours to see."),
    500: ("Something went wrong", "The server hit an error; it has been logged. Please try again later."),
    503: ("Unavailable for a moment", "A service the site needs is not answering; please try again shortly."),
}
# How long to tell a client to wait when the database, cache or broker is away.
OUTAGE_RETRY_AFTER_S = 10


def error_response(request, status: int):
    title, message = MESSAGES[status]
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": f"{title}: {message}"}, status=status)
    return render(
        request, "error.html", {"status": status, "title": title, "message": message}, status=status
    )


def bad_request(request, exception=None):
    return error_response(request, 400)


def permission_denied(request, exception=None):
    return error_response(request, 403)


def not_found(request, exception=None):
    return error_response(request, 404)


def is_outage(error: BaseException | None) -> bool:
    """The database, the shared cache or the broker not answering: a passing outage, not a bug."""
    from django.db import InterfaceError, OperationalError

    if isinstance(error, OperationalError | InterfaceError):
        return True
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis is a requirement
        return False
    return isinstance(error, RedisConnectionError | RedisTimeoutError)


def server_error(request):
    """Django calls this while the uncaught exception is being handled: an outage answers 503
    with Retry-After (clients and proxies may retry), anything else 500."""
    if is_outage(sys.exc_info()[1]):
        title, message = MESSAGES[503]
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": f"{title}: {message}"}, status=503)
        else:  # rendered without the request: its user and session would ask the database again
            page = render_to_string("error.html", {"status": 503, "title": title, "message": message})
            response = HttpResponse(page, status=503)
        response["Retry-After"] = str(OUTAGE_RETRY_AFTER_S)
        return response
    return error_response(request, 500)
