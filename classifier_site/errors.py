"""Error responses: JSON under /api/ (as the schema documents), the site's own pages elsewhere,
with its header and a way back, instead of Django's bare "Not Found"."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "You are not allowed to do that."),
    404: ("Not found", "There is nothing here, or it is not yours to see."),
    500: ("Something went wrong", "The server hit an error; it has been logged. Please try again later."),
}


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


def server_error(request):
    return error_response(request, 500)
