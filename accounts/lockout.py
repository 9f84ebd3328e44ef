"""What a locked-out sign-in gets (django-axes calls this): a 429 that says why and for how long,
as JSON for the API and as a page for people."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render


def locked_out(request, credentials=None, *args, **kwargs):
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"Too many failed sign-in attempts for this account or from this address. "
        f"Sign-in is locked for {minutes} minutes; try again later."
    )
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def username_of(request, credentials=None) -> str | None:
    """The user name django-axes records and counts: as given, cut to what a user name can be
    (its table holds 255 characters; a longer guess must be a 400, not a 500)."""
    credentials = credentials or {}
    username = credentials.get("username")
    if username is None:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        username = data.get("username") if hasattr(data, "get") else None
    return str(username)[:150] if username is not None else None


def client_address(request) -> str | None:
    """The client's address for the per-address lock-out. Behind TRUSTED_PROXY_COUNT reverse
    proxies, the address the outermost trusted proxy saw (X-Forwarded-For counted from the right,
    so a client cannot choose it); with none, the connection's own address."""
    meta = getattr(request, "META", {})
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return meta.get("REMOTE_ADDR")
