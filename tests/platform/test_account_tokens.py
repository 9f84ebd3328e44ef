"""A password change ends the API token: whoever knew the old password may hold the token."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from tests.django_layer import PASSWORD

pytestmark = pytest.mark.django_db


def test_changing_the_password_on_the_page_rotates_the_token(client, alice):
    old = Token.objects.create(user=alice).key
    client.force_login(alice)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-Long-passw0rd!",
            "new_password2": "another-Long-passw0rd!",
        },
    )
    assert response.status_code == 302
    assert not Token.objects.filter(key=old).exists()
    assert client.get("/api/clips/", HTTP_AUTHORIZATION=f"Token {old}").status_code == 401
    client.get("/accounts/profile/")
    assert Token.objects.get(user=alice).key != old  # the profile page makes a fresh one


def test_set_password_anywhere_rotates_it_too(alice):
    old = Token.objects.create(user=alice).key
    alice.set_password("a-completely-new-passw0rd")
    alice.save()
    assert not Token.objects.filter(key=old).exists()


def test_saving_a_user_without_a_new_password_keeps_the_token(alice):
    token = Token.objects.create(user=alice)
    alice.email = "new@example.com"
    alice.save()
    assert Token.objects.filter(key=token.key).exists()
