"""Autouse fixtures of the layers that use the database (imported by their conftests)."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def private_media_root(settings, tmp_path):
    """Each test stores uploads in its own folder, so "nothing was stored" can be checked."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(scope="session", autouse=True)
def no_stray_database_sessions(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end the sessions a live server's threads or a
    stopped worker left behind, so the drop does not fail."""
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
