"""A real django-q2 cluster classifies an upload: the path production takes."""

from __future__ import annotations

import time

import pytest

from classify.models import Clip
from tests.django_layer import as_upload

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_classifies_an_uploaded_clip(qcluster, alice_api, music_wav):
    response = alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart")
    assert response.status_code == 201
    clip_id = response.json()["id"]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and Clip.objects.get(pk=clip_id).status in ("queued", "processing"):
        assert qcluster.poll() is None, qcluster.log_path.read_text()
        time.sleep(0.2)
    body = alice_api.get(f"/api/clips/{clip_id}/").json()
    assert body["status"] == "done", body["error"]
    assert body["label"] in ("music", "speech", "noise") and body["segments"]
    # The worker loaded the model as it started, before the clip arrived.
    assert "loaded model" in qcluster.log_path.read_text()
