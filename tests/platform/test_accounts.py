"""Sign up, sign in, sign out, password change and reset, and the API token on the profile."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from rest_framework.authtoken.models import Token

from tests.django_layer import PASSWORD

pytestmark = pytest.mark.django_db


def test_signing_up_creates_the_user_and_signs_them_in(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "carol", "email": "carol@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.filter(username="carol").exists()
    assert client.get("/").context["user"].username == "carol"


def test_signing_up_with_a_weak_password_is_refused(client):
    response = client.post("/accounts/signup/", {"username": "dave", "password1": "123", "password2": "123"})
    assert response.status_code == 200 and not User.objects.filter(username="dave").exists()


def test_signing_in_and_out(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "Your clips" in client.get("/").content.decode()
    client.post("/accounts/logout/")
    assert "Create an account" in client.get("/").content.decode()


def test_changing_the_password(alice_browser, alice):
    new = "another-Long-passw0rd"
    response = alice_browser.post(
        "/accounts/password_change/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(new)


def test_resetting_a_forgotten_password_by_email(client, alice):
    client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body)[1]
    form_url = client.get(link)["Location"]
    new = "reset-Long-passw0rd"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(new)


def test_the_profile_shows_and_regenerates_the_api_token(alice_browser, alice):
    page = alice_browser.get("/accounts/profile/").content.decode()
    old = Token.objects.get(user=alice).key
    assert old in page
    alice_browser.post("/accounts/profile/token/")
    new = Token.objects.get(user=alice).key
    assert new != old and new in alice_browser.get("/accounts/profile/").content.decode()


def test_signing_out_says_so(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/logout/", follow=True)
    assert b"You are signed out." in response.content


def test_one_address_cannot_make_accounts_without_end(settings):
    from django.core.cache import cache
    from django.test import Client

    cache.clear()
    settings.SIGNUP_RATE = "3/hour"
    statuses = []
    for n in range(5):
        password = f"a-Long-and-unusual-passw0rd-{n}"
        response = Client().post(
            "/accounts/signup/", {"username": f"spray{n}", "password1": password, "password2": password}
        )
        statuses.append(response.status_code)
    assert statuses == [302] * 3 + [429] * 2
    assert "Too many new accounts from your address" in response.content.decode()
    assert User.objects.filter(username__startswith="spray").count() == 3
