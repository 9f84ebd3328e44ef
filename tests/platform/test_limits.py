"""Per-user limits: uploads counted per file across the HTML form and the API, corrections
throttled, a storage quota; all with a message that says what to do."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from classify.clips import intake
from classify.models import Clip
from tests.django_layer import as_upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


def test_the_upload_form_counts_files_not_posts(alice_browser, music_wav, settings):
    settings.UPLOAD_RATE = "3/hour"
    response = alice_browser.post("/clips/upload/", {"files": [as_upload(music_wav) for _ in range(5)]})
    assert response.status_code == 429
    assert Clip.objects.count() == 3
    assert b"Too many uploads" in response.content and b"3 per hour" in response.content


def test_the_form_and_the_api_share_one_upload_allowance(alice_api, alice_browser, music_wav, settings):
    settings.UPLOAD_RATE = "2/hour"
    assert (
        alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart").status_code == 201
    )
    assert alice_browser.post("/clips/upload/", {"files": [as_upload(music_wav)]}).status_code == 302
    api = alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart")
    assert api.status_code == 429 and "Too many uploads" in api.json()["detail"]
    assert int(api["Retry-After"]) > 0
    assert alice_browser.post("/clips/upload/", {"files": [as_upload(music_wav)]}).status_code == 429
    assert Clip.objects.count() == 2


def test_one_users_limit_does_not_touch_another(alice_api, bob_api, music_wav, settings):
    settings.UPLOAD_RATE = "1/hour"
    assert (
        alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart").status_code == 201
    )
    assert (
        alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart").status_code == 429
    )
    assert bob_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart").status_code == 201


def test_corrections_are_throttled_in_the_api_and_the_page(
    alice, alice_api, alice_browser, music_wav, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        clip = intake.create_clip(alice, as_upload(music_wav))
    clip.refresh_from_db()
    settings.CORRECTION_RATE = "3/minute"
    url = f"/api/clips/{clip.pk}/corrections/"
    statuses = [alice_api.post(url, {"label": "noise"}, format="json").status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    page = alice_browser.post(f"/clips/{clip.pk}/correct/", {"label": "music"}, follow=True)
    assert b"Too many corrections" in page.content
    assert clip.corrections.count() == 3


def test_the_storage_quota_refuses_with_a_message_and_stores_nothing(alice_api, music_wav, settings):
    settings.USER_STORAGE_QUOTA_BYTES = int(music_wav.stat().st_size * 1.5)
    assert (
        alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart").status_code == 201
    )
    refused = alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart")
    assert refused.status_code == 400
    assert "storage is full" in refused.json()["file"][0] and "Delete some clips" in refused.json()["file"][0]
    assert Clip.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_uploads_cannot_pass_the_storage_quota_together(alice, music_wav, settings):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    size = music_wav.stat().st_size
    settings.USER_STORAGE_QUOTA_BYTES = 3 * size + size // 2  # room for three

    def upload(_):
        try:
            return intake.create_clip(alice, as_upload(music_wav)).pk
        except intake.UploadOverLimit:
            return None
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        kept = [pk for pk in pool.map(upload, range(8)) if pk]
    assert len(kept) == 3 and Clip.objects.filter(owner=alice).count() == 3
