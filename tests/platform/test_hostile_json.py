"""Deeply nested JSON is refused with 400 and a sentence, never a server error (issue 27: the
anonymous token endpoint answered 500)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

NESTED = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_json_is_refused_on_the_token_endpoint_and_the_api(alice_api):
    anonymous = APIClient()
    refused = anonymous.post("/api/auth/token/", NESTED, content_type="application/json")
    assert refused.status_code == 400 and "nested" in refused.json()["detail"]
    refused = alice_api.post("/api/clips/1/corrections/", NESTED, content_type="application/json")
    assert refused.status_code in (400, 404) and refused.status_code != 500
