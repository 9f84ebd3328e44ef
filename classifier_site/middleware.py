"""Middleware of our own: health probes answered first, and requests whose query string carries
control characters refused in one place for HTML and API.

PostgreSQL text cannot hold NUL, and no legitimate search, filter or page number needs any C0
control character or DEL: such a request is a 400 with a message, never a 500 further down.
"""

from __future__ import annotations

import re

from django.http import HttpResponseBadRequest, JsonResponse

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
MESSAGE = "The request's parameters contain control characters (such as NUL), which are not allowed."


def has_control_characters(params) -> bool:
    return any(
        CONTROL_CHARACTERS.search(key)
        or any(CONTROL_CHARACTERS.search(value) for value in params.getlist(key))
        for key in params
    )


class RefuseControlCharacters:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_control_characters(request.GET):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": MESSAGE}, status=400)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class HealthProbes:
    """/healthz and /readyz, answered before host checks, HTTPS redirects, sessions and sign-in:
    a load balancer or kubelet asks by address over plain HTTP and must get the truth, not a 400
    or a 301. JSON, no login, no data (classify/infra/health.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz":
            from classify.infra.health import liveness

            return _no_store(JsonResponse(liveness()))
        if request.path_info == "/readyz":
            from classify.infra.health import may_see_details, readiness

            ready, body = readiness()
            if not may_see_details(request.headers.get("Authorization", "")):
                body = {"status": body["status"]}
            response = JsonResponse(body, status=200 if ready else 503)
            # A 503 here is the answer asked for (starting, a check failing), not a server error:
            # Django would log it at ERROR on every probe; the failing check is logged where it failed.
            response._has_been_logged = True  # type: ignore[attr-defined]
            return _no_store(response)
        return self.get_response(request)


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response
