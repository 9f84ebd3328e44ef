"""Shared fixtures: alice and bob, whose clips must never mix; audio made in code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.audio_factory import chord, white_noise, write

PASSWORD = "a-Long-and-unusual-passw0rd"
ROOT = Path(__file__).resolve().parent.parent


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


@pytest.fixture
def tiny_corpus(tmp_path) -> Path:
    """A MUSAN-layout corpus: 4 sources per class, 2 files each."""
    for label, make in (("music", chord), ("speech", chord), ("noise", white_noise)):
        for s in range(4):
            folder = tmp_path / label / f"{label}-source{s}"
            folder.mkdir(parents=True)
            for f in range(2):
                write(folder / f"file{f}.flac", make(1.0, seed=s * 10 + f))
    return tmp_path


@pytest.fixture
def music_wav(tmp_path):
    return write(tmp_path / "tune.wav", chord(6.0))


@pytest.fixture
def noise_flac(tmp_path):
    return write(tmp_path / "hiss.flac", white_noise(5.0))


def as_upload(path, name: str | None = None, content_type: str = "audio/wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type=content_type)


@pytest.fixture(autouse=True)
def private_media_root(settings, tmp_path):
    """Each test stores uploads in its own folder, so "nothing was stored" can be checked."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def qcluster(settings, tmp_path):
    """A `manage.py qcluster` process on the test database, stopped (and reaped) afterwards."""
    settings.CLASSIFY_SYNC = False
    # The configured database URL, pointed at the test database pytest-django created.
    url = urlunsplit(
        urlsplit(django_settings.DATABASE_URL)._replace(path="/" + connection.settings_dict["NAME"])
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CLASSIFY_SYNC": "false",
        "MEDIA_ROOT": settings.MEDIA_ROOT,
    }
    log = (tmp_path / "qcluster.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log_path = Path(log.name)
    yield process
    stop_process_group(process)
    log.close()


def stop_process_group(process: subprocess.Popen, grace_s: float = 15) -> None:
    """SIGTERM the whole group (cluster, sentinel, workers), wait until every member is gone,
    SIGKILL what lingers: no worker may outlive its test and hold the test database."""
    import time

    def alive() -> bool:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    if alive():
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while alive() and time.monotonic() < deadline:
        process.poll()
        time.sleep(0.1)
    if alive():
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


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
