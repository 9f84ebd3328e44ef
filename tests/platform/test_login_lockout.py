"""Guessing passwords gets nowhere: after a few failures a user name is locked out from the address
that guessed (the pair), and an address spraying many names meets a slower per-address limit, on
the login page and the token endpoint alike, with a clear message, until the lock-out ends by
itself; nobody else's sign-in is locked by someone else's guesses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone

from tests.django_layer import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_the_login_page_locks_a_user_name_after_repeated_failures(client, alice, settings):
    statuses = [login(client, "alice", "wrong guess").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]  # the last failure locks
    locked = login(client, "alice", PASSWORD)
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content and b"Audio classifier" in locked.content
    assert "_auth_user_id" not in client.session


def test_the_token_endpoint_locks_too_and_says_so_in_json(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/auth/token/", {"username": "alice", "password": "nope"})
    locked = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.json()["detail"]
    assert int(locked["Retry-After"]) > 0


def test_failures_on_one_endpoint_count_on_the_other(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/auth/token/", {"username": "alice", "password": "nope"})
    assert login(client, "alice", PASSWORD).status_code == 429


def test_the_lock_out_ends_by_itself(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "alice", "wrong guess")
    assert login(client, "alice", PASSWORD).status_code == 429
    # Time passes: the failures are older than the cool-off.
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    response = login(client, "alice", PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(alice.pk)


def test_a_few_mistakes_then_the_right_password_still_signs_in(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "alice", "typo")
    assert login(client, "alice", PASSWORD).status_code == 302


@pytest.mark.parametrize("url", ["/accounts/login/", "/api/auth/token/"])
def test_an_absurdly_long_user_name_is_refused_not_a_server_error(client, url):
    response = client.post(url, {"username": "x" * 5000, "password": "guess"})
    assert response.status_code in (200, 400)


def test_behind_a_proxy_the_address_comes_from_the_proxy_not_the_client(rf, settings):
    from accounts.lockout import client_address

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7", REMOTE_ADDR="10.0.0.1")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request) == "203.0.113.7"  # the spoofed left-hand entry is ignored


def test_failures_on_a_name_that_does_not_exist_never_lock_out_a_real_user(client, alice, settings):
    """One address (an office NAT, a proxy without TRUSTED_PROXY_COUNT) guessing at a made-up
    name: the real user behind the same address still signs in."""
    for _ in range(settings.AXES_FAILURE_LIMIT * 2):
        login(client, "nobody-by-this-name", "guess")
    response = login(client, "alice", PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(alice.pk)


def test_a_name_locked_from_one_address_still_signs_in_from_another(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "alice", "password": "x"}, REMOTE_ADDR="203.0.113.9")
    assert (
        client.post(
            "/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="203.0.113.9"
        )
    ).status_code == 429
    elsewhere = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="198.51.100.4"
    )
    assert elsewhere.status_code == 302


def test_an_address_spraying_many_names_is_locked_out_at_the_slower_address_rate(client, bob, settings):
    settings.LOGIN_ADDRESS_FAILURE_RATE = "12/hour"
    for n in range(12):  # twelve names, a few guesses each: no (name, address) pair reaches 5
        client.post(
            "/api/auth/token/", {"username": f"user{n}", "password": "Winter2026!"}, REMOTE_ADDR="203.0.113.7"
        )
    sprayed = client.post(
        "/api/auth/token/", {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="203.0.113.7"
    )
    assert sprayed.status_code == 429 and "Too many failed sign-in attempts" in sprayed.json()["detail"]
    page = client.post(
        "/accounts/login/", {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="203.0.113.7"
    )
    assert page.status_code == 429
    other = client.post(
        "/api/auth/token/", {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="198.51.100.4"
    )
    assert other.status_code == 200
