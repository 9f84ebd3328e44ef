"""The REST contract outside clients rely on: upload, list, read, delete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from classify.models import Clip
from tests.django_layer import as_upload

pytestmark = pytest.mark.django_db

CLIP_FIELDS = {
    "id",
    "filename",
    "status",
    "label",
    "confidence",
    "probabilities",
    "duration_s",
    "segments",
    "model_version",
    "error",
    "created_at",
    "finished_at",
    "audio_url",
}


def upload(api, path, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return api.post("/api/clips/", {"file": as_upload(path, **kwargs)}, format="multipart")


def test_upload_returns_201_with_a_queued_clip(alice_api, music_wav, django_capture_on_commit_callbacks):
    response = alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart")
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= CLIP_FIELDS
    assert body["status"] == "queued" and body["filename"] == "tune.wav"
    assert body["duration_s"] == pytest.approx(6.0, abs=0.05)


def test_an_uploaded_clip_is_classified_with_every_field(
    alice_api, music_wav, django_capture_on_commit_callbacks
):
    clip_id = upload(alice_api, music_wav, django_capture_on_commit_callbacks).json()["id"]
    body = alice_api.get(f"/api/clips/{clip_id}/").json()
    assert body["status"] == "done", body["error"]
    assert body["label"] in {"music", "speech", "noise"}
    assert set(body["probabilities"]) == {"music", "speech", "noise"}
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=0.01)
    assert body["confidence"] == pytest.approx(max(body["probabilities"].values()), abs=0.01)
    assert body["segments"][0]["start"] == 0 and body["segments"][-1]["end"] == pytest.approx(6.0, abs=0.05)
    assert {"start", "end", "label", "probabilities"} <= set(body["segments"][0])
    assert body["model_version"] and body["finished_at"] and body["error"] == ""
    assert body["audio_url"].endswith(f"/clips/{clip_id}/audio/")


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.wav", b"", "empty"),
        ("notes.mp3", b"just some text pretending to be an mp3\n" * 50, "not an audio file"),
        ("corrupt.wav", b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(300), "not an audio file|corrupt"),
    ],
)
def test_a_bad_file_gets_400_and_nothing_is_stored(alice_api, name, content, reason, settings):
    response = alice_api.post("/api/clips/", {"file": SimpleUploadedFile(name, content)}, format="multipart")
    assert response.status_code == 400
    assert list(response.json()) == ["file"]
    assert re.search(reason, response.json()["file"][0])
    assert Clip.objects.count() == 0
    assert not any(Path(settings.MEDIA_ROOT).rglob("*.*"))


def test_a_file_over_the_size_limit_gets_400(alice_api, music_wav, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    response = alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart")
    assert response.status_code == 400
    assert "limit" in response.json()["file"][0]
    assert Clip.objects.count() == 0


def test_a_recording_over_the_duration_limit_gets_400(alice_api, music_wav, settings):
    settings.UPLOAD_MAX_DURATION_S = 3
    response = alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart")
    assert response.status_code == 400
    assert "too long" in response.json()["file"][0]


def test_missing_file_field_gets_400(alice_api):
    response = alice_api.post("/api/clips/", {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()


def test_without_a_token_the_api_answers_401(client):
    assert client.get("/api/clips/").status_code == 401


def test_the_list_is_paginated_newest_first(alice, alice_api):
    for n in range(25):
        Clip.objects.create(owner=alice, original_filename=f"clip{n:02}.wav", size_bytes=1, sha256="0")
    first = alice_api.get("/api/clips/").json()
    assert first["count"] == 25 and len(first["results"]) == 20 and first["previous"] is None
    assert first["results"][0]["filename"] == "clip24.wav"
    second = alice_api.get(first["next"]).json()
    assert [c["filename"] for c in second["results"]] == [f"clip{n:02}.wav" for n in range(4, -1, -1)]


def test_the_list_filters_by_label_status_and_search(
    alice_api, music_wav, noise_flac, django_capture_on_commit_callbacks
):
    upload(alice_api, music_wav, django_capture_on_commit_callbacks, name="morning tune.wav")
    upload(alice_api, noise_flac, django_capture_on_commit_callbacks, name="street hiss.flac")
    labels = {c["filename"]: c["label"] for c in alice_api.get("/api/clips/").json()["results"]}
    for label in set(labels.values()):
        found = alice_api.get(f"/api/clips/?label={label}").json()["results"]
        assert {c["filename"] for c in found} == {n for n, lab in labels.items() if lab == label}
    assert alice_api.get("/api/clips/?status=done").json()["count"] == 2
    assert alice_api.get("/api/clips/?status=failed").json()["count"] == 0
    found = alice_api.get("/api/clips/?search=HISS").json()["results"]
    assert [c["filename"] for c in found] == ["street hiss.flac"]


def test_listing_costs_the_same_queries_for_many_clips(
    alice, alice_api, music_wav, django_capture_on_commit_callbacks
):
    upload(alice_api, music_wav, django_capture_on_commit_callbacks)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_api.get("/api/clips/").status_code == 200
        return len(captured)

    few = queries()
    for _ in range(5):
        upload(alice_api, music_wav, django_capture_on_commit_callbacks)
    assert queries() == few == 3  # token, count, page: a list row reads no segment


def test_delete_removes_the_row_and_the_stored_file(alice_api, music_wav, django_capture_on_commit_callbacks):
    clip_id = upload(alice_api, music_wav, django_capture_on_commit_callbacks).json()["id"]
    stored = Path(Clip.objects.get(pk=clip_id).file.path)
    assert stored.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_api.delete(f"/api/clips/{clip_id}/").status_code == 204
    assert not Clip.objects.filter(pk=clip_id).exists()
    assert not stored.exists()


def test_token_endpoint_trades_a_password_for_a_working_token(alice, client):
    from tests.django_layer import PASSWORD

    response = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    assert client.get("/api/clips/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    wrong = client.post("/api/auth/token/", {"username": "alice", "password": "nope"})
    assert wrong.status_code == 400


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/clips/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


def test_uploads_are_throttled_per_user(alice_api, bob_api, music_wav, settings):
    from django.core.cache import cache

    cache.clear()
    settings.UPLOAD_RATE = "2/minute"
    statuses = [
        alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart").status_code
        for _ in range(3)
    ]
    assert statuses == [201, 201, 429]
    assert alice_api.get("/api/clips/").status_code == 200  # reading is not throttled
    assert bob_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart").status_code == 201
    cache.clear()


def test_token_clients_download_their_audio_and_nobody_elses(alice_api, bob_api, music_wav):
    body = alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart").json()
    assert body["audio_url"].endswith(f"/api/clips/{body['id']}/audio/")
    response = alice_api.get(body["audio_url"])
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    assert b"".join(response.streaming_content) == music_wav.read_bytes()
    assert alice_api.get(body["audio_url"], HTTP_RANGE="bytes=0-9").status_code == 206
    assert bob_api.get(body["audio_url"]).status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().get(body["audio_url"]).status_code == 401


def test_a_pause_shows_as_silence_in_the_api_and_the_clip_keeps_its_label(
    alice_api, tmp_path, django_capture_on_commit_callbacks
):
    import numpy as np
    import soundfile

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    speech, rate = soundfile.read(fixtures / "speech.flac", dtype="float32")
    path = tmp_path / "podcast.flac"
    soundfile.write(
        path, np.concatenate([speech, speech, np.zeros(5 * rate, np.float32), speech, speech]), rate
    )
    clip_id = upload(alice_api, path, django_capture_on_commit_callbacks).json()["id"]
    body = alice_api.get(f"/api/clips/{clip_id}/").json()
    assert body["label"] == "speech"
    assert [s["label"] for s in body["segments"]].count("silence") == 1
    assert alice_api.get("/api/clips/", {"label": "silence"}).json()["count"] == 0


def test_the_api_docs_have_a_way_back_to_the_site(client):
    page = client.get("/api/docs/").content.decode()
    assert "Back to Audio classifier" in page and 'id="swagger-ui"' in page
