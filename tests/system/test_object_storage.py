"""With S3_BUCKET set, uploads live in the bucket (a real S3 API: moto's server on 127.0.0.1):
stored, classified from, played with ranges, and deleted there; nothing lands in MEDIA_ROOT."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from classify.models import Clip
from tests.django_layer import as_upload

pytestmark = pytest.mark.django_db


def keys(bucket) -> set[str]:
    return {item["Key"] for item in bucket.list_objects_v2(Bucket=bucket.name).get("Contents", [])}


def test_an_upload_is_stored_in_the_bucket_and_classified_from_it(
    s3_bucket, alice_api, music_wav, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart")
    assert response.status_code == 201, response.content
    clip = Clip.objects.get(pk=response.json()["id"])
    assert clip.status == "done" and clip.result.label in ("music", "speech", "noise")
    assert keys(s3_bucket) == {clip.file.name}
    stored = s3_bucket.get_object(Bucket=s3_bucket.name, Key=clip.file.name)["Body"].read()
    assert stored == music_wav.read_bytes()
    assert not any(Path(settings.MEDIA_ROOT).rglob("*.*"))


def test_the_owner_plays_audio_from_the_bucket_with_ranges_and_bob_cannot(
    s3_bucket, alice_api, bob_api, music_wav
):
    clip_id = alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart").json()["id"]
    whole = music_wav.read_bytes()
    part = alice_api.get(f"/api/clips/{clip_id}/audio/", HTTP_RANGE="bytes=100-1099")
    assert part.status_code == 206 and part.content == whole[100:1100]
    assert part["Content-Range"] == f"bytes 100-1099/{len(whole)}"
    full = alice_api.get(f"/api/clips/{clip_id}/audio/")
    assert full.status_code == 200 and b"".join(full.streaming_content) == whole
    assert bob_api.get(f"/api/clips/{clip_id}/audio/").status_code == 404


def test_deleting_a_clip_deletes_its_object(
    s3_bucket, alice_api, music_wav, django_capture_on_commit_callbacks
):
    clip_id = alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart").json()["id"]
    assert len(keys(s3_bucket)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_api.delete(f"/api/clips/{clip_id}/").status_code == 204
    assert keys(s3_bucket) == set()


def test_a_refused_upload_leaves_nothing_in_the_bucket(s3_bucket, alice_api, tmp_path):
    fake = tmp_path / "notes.wav"
    fake.write_text("not audio at all " * 100)
    response = alice_api.post("/api/clips/", {"file": as_upload(fake)}, format="multipart")
    assert response.status_code == 400
    assert keys(s3_bucket) == set() and not Clip.objects.exists()


def test_an_object_gone_from_the_bucket_fails_the_clip_with_a_message(s3_bucket, alice, music_wav, settings):
    from classify.clips import intake
    from tests.django_layer import process_clip

    settings.CLASSIFY_SYNC = False  # keep it queued, then remove the object before a worker runs
    clip = intake.create_clip(alice, as_upload(music_wav))
    s3_bucket.delete_object(Bucket=s3_bucket.name, Key=clip.file.name)
    process_clip(clip.pk)
    clip.refresh_from_db()
    assert clip.status == "failed" and "could not be found" in clip.error
