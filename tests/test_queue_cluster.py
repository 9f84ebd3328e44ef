"""A real django-q2 cluster classifies an upload: the path production takes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection

from classify.models import Clip
from tests.conftest import as_upload

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def qcluster(settings):
    """A `manage.py qcluster` process on the test database, stopped (and reaped) afterwards."""
    settings.CLASSIFY_SYNC = False
    # The configured database URL, pointed at the test database pytest-django created.
    url = urlunsplit(urlsplit(django_settings.DATABASE_URL)._replace(path="/" + connection.settings_dict["NAME"]))
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "CLASSIFY_SYNC": "false", "MEDIA_ROOT": settings.MEDIA_ROOT}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_real_worker_classifies_an_uploaded_clip(qcluster, alice_api, music_wav):
    response = alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart")
    assert response.status_code == 201
    clip_id = response.json()["id"]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and Clip.objects.get(pk=clip_id).status in ("queued", "processing"):
        assert qcluster.poll() is None, qcluster.stdout.read().decode()
        time.sleep(0.2)
    body = alice_api.get(f"/api/clips/{clip_id}/").json()
    assert body["status"] == "done", body["error"]
    assert body["label"] in ("music", "speech", "noise") and body["segments"]
