"""The database away for a moment: pages and the API answer 503 with Retry-After, not 500."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from tests.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database_away():
    """The next connection goes to a port where nothing listens (as when PostgreSQL restarts)."""
    saved = connection.settings_dict["PORT"], connection.settings_dict["HOST"]
    connection.close()
    connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", str(free_port())
    yield
    connection.close()
    connection.settings_dict["PORT"], connection.settings_dict["HOST"] = saved


def test_an_outage_answers_503_with_retry_after_on_pages_and_the_api(database_away):
    client = Client(raise_request_exception=False)
    api = client.get("/api/clips/", HTTP_AUTHORIZATION="Token whatever")
    assert api.status_code == 503 and int(api["Retry-After"]) > 0
    assert "try again shortly" in api.json()["detail"]
    client.cookies["sessionid"] = "a" * 32  # a signed-in browser: its session is in the database
    page = client.get("/")
    assert page.status_code == 503 and b"try again shortly" in page.content
