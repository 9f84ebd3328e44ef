"""Sign-in lock-out: what a locked-out sign-in gets (django-axes calls `locked_out`): a 429 that
says why and for how long, as JSON for the API and as a page for people; and the per-address
limit on failures that catches password sprays, which django-axes's per-(name, address) lock
does not."""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from classify.infra import limits


def locked_out(request, credentials=None, *args, **kwargs):
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"Too many failed sign-in attempts for this account from this address, or from this address. "
        f"Sign-in is locked for {minutes} minutes; try again later."
    )
    response: HttpResponse
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


def _address_rate() -> limits.Rate:
    return limits.Rate.parse(settings.LOGIN_ADDRESS_FAILURE_RATE)


class AddressSprayBackend(BaseBackend):
    """Refuses every sign-in from an address that failed LOGIN_ADDRESS_FAILURE_RATE times (any
    names): a spray of guesses across many accounts. Marks the request the way django-axes does,
    so the same lock-out answer follows."""

    def get_user(self, user_id):
        """Sessions signed in through this (the first) backend, as by the test client's
        force_login, are the model backend's users."""
        return ModelBackend().get_user(user_id)

    def authenticate(self, request, **credentials):
        address = client_address(request) if request is not None else None
        if address and limits.reached("login-failures", address, _address_rate()):
            request.axes_locked_out = True
            raise PermissionDenied("too many failed sign-ins from this address")
        return None


@receiver(user_login_failed, dispatch_uid="accounts-count-address-failures")
def count_address_failure(sender, credentials=None, request=None, **kwargs) -> None:
    address = client_address(request) if request is not None else None
    if address and not getattr(request, "axes_locked_out", False):
        with contextlib.suppress(limits.LimitReached):
            limits.take("login-failures", address, _address_rate())
