"""Fixtures of the layers that use the database (imported by their conftests): alice and bob, whose
clips must never mix, their clients, uploads."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

PASSWORD = "a-Long-and-unusual-passw0rd"


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


def process_clip(clip_id: int):
    """A clip's worker-side body run here, as the worker's task runs it (its model, its keeper)."""
    from classify.clips import processing
    from classify.model_versions.loader import get_classifier
    from classify.worker.keeper import holding

    return processing.process_clip(clip_id, get_classifier, holding)


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.fixture
def alice_browser(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def alice_api(alice):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    return api


@pytest.fixture
def bob_api(bob):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=bob).key}")
    return api


def as_upload(path, name: str | None = None, content_type: str = "audio/wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type=content_type)


def classified(owner, path):
    """A clip uploaded through the intake and classified here, as the worker would, with its result."""
    from django.db import transaction

    from classify.clips import intake
    from classify.models import Clip

    with transaction.atomic():
        clip = intake.create_clip(owner, as_upload(path))
    assert process_clip(clip.pk).status == Clip.Status.DONE
    return Clip.objects.with_result().get(pk=clip.pk)
