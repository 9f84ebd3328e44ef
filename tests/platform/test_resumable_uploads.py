"""Resumable uploads (tus 1.0.0, classify/clips/resumable.py): a file sent in parts, continued
from the offset the server reports, becomes a clip identical to the original; others' uploads
are 404; limits hold from the first byte; abandoned uploads are swept with their parts."""

from __future__ import annotations

import base64
import hashlib
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from classify.clips import resumable
from classify.models import Clip, ResumableUpload
from tests.audio_factory import chord, write

pytestmark = pytest.mark.django_db
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def begin(api, data: bytes, name: str = "concert.wav"):
    metadata = "filename " + base64.b64encode(name.encode()).decode()
    return api.post("/api/uploads/", HTTP_UPLOAD_LENGTH=str(len(data)), HTTP_UPLOAD_METADATA=metadata, **TUS)


def send(api, location: str, offset: int, part: bytes):
    return api.generic(
        "PATCH",
        location,
        part,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=str(offset),
        **TUS,
    )


@contextmanager
def a_part_streaming_into(upload):
    """What append() holds while a part comes in: the upload's row lock, from another connection."""
    from django.db import connection, transaction

    locked, release = threading.Event(), threading.Event()

    def stream_a_part():
        with transaction.atomic():
            ResumableUpload.objects.select_for_update().get(pk=upload.pk)
            locked.set()
            release.wait(30)
        connection.close()

    streaming = threading.Thread(target=stream_a_part)
    streaming.start()
    assert locked.wait(10)
    try:
        yield
    finally:
        release.set()
        streaming.join()


@pytest.fixture
def wav(tmp_path) -> bytes:
    return write(tmp_path / "concert.wav", chord(20.0)).read_bytes()


def test_an_upload_in_parts_continued_from_the_reported_offset_is_the_original_file(
    alice, alice_api, settings, wav
):
    created = begin(alice_api, wav)
    assert created.status_code == 201 and created["Tus-Resumable"] == "1.0.0"
    location = created["Location"]
    half = len(wav) // 2
    first = send(alice_api, location, 0, wav[:half])
    assert first.status_code == 204 and first["Upload-Offset"] == str(half) and "Upload-Clip-Id" not in first
    # The connection dropped; the client asks where the upload stands and sends the rest.
    where = alice_api.head(location, **TUS)
    assert (where.status_code, where["Upload-Offset"], where["Upload-Length"]) == (
        200,
        str(half),
        str(len(wav)),
    )
    assert send(alice_api, location, 0, wav).status_code == 409  # not from the start again
    last = send(alice_api, location, half, wav[half:])
    assert last.status_code == 204 and last["Upload-Offset"] == str(len(wav))
    clip = Clip.objects.get(pk=int(last["Upload-Clip-Id"]))
    assert clip.owner == alice and clip.original_filename == "concert.wav"
    assert clip.sha256 == hashlib.sha256(wav).hexdigest()
    assert hashlib.sha256(clip.file.read()).hexdigest() == hashlib.sha256(wav).hexdigest()
    assert not ResumableUpload.objects.exists() and not list(settings.RESUMABLE_DIR.glob("*.part"))


def test_someone_elses_upload_is_404_to_every_method(alice_api, bob_api, wav):
    location = begin(alice_api, wav)["Location"]
    assert bob_api.head(location, **TUS).status_code == 404
    assert send(bob_api, location, 0, wav[:100]).status_code == 404
    assert bob_api.delete(location, **TUS).status_code == 404
    assert alice_api.head(location, **TUS)["Upload-Offset"] == "0"


def test_limits_hold_from_the_first_byte(alice_api, settings, wav):
    settings.UPLOAD_MAX_BYTES = len(wav) - 1
    too_big = begin(alice_api, wav)
    assert too_big.status_code == 413 and "too big" in too_big.json()["detail"]
    settings.UPLOAD_MAX_BYTES, settings.USER_STORAGE_QUOTA_BYTES = 10 * len(wav), len(wav) + 10
    assert begin(alice_api, wav).status_code == 201
    over = begin(alice_api, wav)  # the first one's length is counted while it is under way
    assert over.status_code == 400 and "storage is full" in over.json()["detail"]
    location = ResumableUpload.objects.get().pk
    overlong = send(alice_api, f"/api/uploads/{location}/", 0, wav + b"x")
    assert overlong.status_code == 413
    assert alice_api.post("/api/uploads/", HTTP_UPLOAD_LENGTH="ten", **TUS).status_code == 400
    assert (
        alice_api.post("/api/uploads/", HTTP_UPLOAD_LENGTH="10", HTTP_TUS_RESUMABLE="0.2.2").status_code
        == 412
    )


def test_a_finished_upload_that_is_not_audio_is_refused_with_the_reason_and_kept_nowhere(alice_api):
    junk = b"<html>not audio</html>" * 100
    location = begin(alice_api, junk, "page.wav")["Location"]
    refused = send(alice_api, location, 0, junk)
    assert refused.status_code == 400 and "not an audio file" in refused.json()["detail"].lower()
    assert not Clip.objects.exists() and not ResumableUpload.objects.exists()


def test_an_abandoned_upload_is_swept_with_its_parts(
    alice_api, settings, wav, django_capture_on_commit_callbacks
):
    location = begin(alice_api, wav)["Location"]
    send(alice_api, location, 0, wav[:1000])
    upload = ResumableUpload.objects.get()
    part = upload.part_path
    assert part.stat().st_size == 1000
    assert resumable.sweep_abandoned() == 0  # recent: kept
    ResumableUpload.objects.filter(pk=upload.pk).update(
        updated_at=timezone.now() - timedelta(seconds=settings.RESUMABLE_EXPIRE_S + 1)
    )
    with django_capture_on_commit_callbacks(execute=True):  # the part goes once the deletion commits
        assert resumable.sweep_abandoned() == 1
    assert not part.exists() and not ResumableUpload.objects.exists()
    assert alice_api.head(location, **TUS).status_code == 404


def test_the_server_says_what_it_supports(alice_api, settings):
    answer = alice_api.options("/api/uploads/")
    assert answer.status_code == 204 and answer["Tus-Extension"] == "creation,termination"
    assert answer["Tus-Max-Size"] == str(settings.UPLOAD_MAX_BYTES)


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_skips_an_upload_whose_part_is_streaming_in_without_waiting(alice):
    """Issue 27: the sweeper waited on a streaming part's row lock (minutes of the only clips
    worker), then deleted that upload. A locked row is skipped, at once."""
    import time

    upload = resumable.begin(alice, 1000, "big.wav")
    ResumableUpload.objects.filter(pk=upload.pk).update(updated_at=timezone.now() - timedelta(days=2))
    with a_part_streaming_into(upload):
        started = time.monotonic()
        assert resumable.sweep_abandoned() == 0
        assert time.monotonic() - started < 5 and ResumableUpload.objects.filter(pk=upload.pk).exists()
    assert resumable.sweep_abandoned() == 1  # untouched and no longer in use: now it goes


def test_the_same_last_part_sent_twice_is_refused_without_a_server_error(alice, alice_api, wav):
    """Issue 27: a duplicate final PATCH (a client that retried) waited for the lock, then found
    the upload gone and answered 500."""
    created = begin(alice_api, wav)
    location = created["Location"]
    upload = ResumableUpload.objects.get()
    first = send(alice_api, location, 0, wav)
    assert first.status_code == 204 and "Upload-Clip-Id" in first
    with pytest.raises(resumable.ResumableRefused) as refused:  # what the waiting twin meets
        resumable.append(upload, 0, iter([wav]).__next__, len(wav))
    assert refused.value.status == 404 and "already finished" in str(refused.value)
    assert send(alice_api, location, 0, wav).status_code == 404
    assert Clip.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_second_part_of_an_upload_is_refused_at_once_while_one_streams_in(alice):
    """Issue 27: a part waiting on the row lock of a slow one held a web thread as long."""
    import time

    upload = resumable.begin(alice, 1000, "big.wav")
    with a_part_streaming_into(upload):
        started = time.monotonic()
        with pytest.raises(resumable.ResumableRefused) as refused:
            resumable.append(upload, 0, iter([b"x" * 10]).__next__, 10)
    assert refused.value.status == 409 and "Another part" in str(refused.value)
    assert time.monotonic() - started < 5


def test_the_schema_names_every_header_a_resumable_upload_sends_and_gets(alice_api):
    """Issue 27: the schema was vague on the upload headers; a client generated from it could not
    send a part or find its clip."""
    schema = alice_api.get("/api/schema/?format=json").json()
    begin, part = (
        schema["paths"]["/api/uploads/"]["post"],
        schema["paths"]["/api/uploads/{upload_id}/"]["patch"],
    )

    def sent(operation):
        return {p["name"]: p.get("required", False) for p in operation["parameters"] if p["in"] == "header"}

    assert sent(begin) == {"Upload-Length": True, "Upload-Metadata": False, "Tus-Resumable": True}
    assert sent(part) == {"Upload-Offset": True, "Tus-Resumable": True}
    assert set(begin["responses"]["201"]["headers"]) == {"Location", "Upload-Offset"}
    assert set(part["responses"]["204"]["headers"]) == {"Upload-Offset", "Upload-Clip-Id", "Upload-Clip-Url"}


def test_an_ordinary_upload_respects_the_bytes_a_resumable_upload_has_reserved(alice_api, settings, wav):
    """Issue 27, item 8: an upload in parts reserved its length, but ordinary uploads ignored it, so
    the parts' last byte then found the quota full."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.USER_STORAGE_QUOTA_BYTES = len(wav) + len(wav) // 2
    assert begin(alice_api, wav).status_code == 201
    ordinary = alice_api.post("/api/clips/", {"file": SimpleUploadedFile("second.wav", wav, "audio/wav")})
    assert ordinary.status_code == 400
    assert "uploads under way have reserved" in ordinary.json()["file"][0]
    assert not Clip.objects.exists()


def test_a_last_part_refused_for_want_of_room_keeps_every_part_to_be_sent_again(
    alice, alice_api, settings, wav
):
    """Issue 27, item 8: when the last part was refused (quota, disk), every part already sent
    was deleted (4 GiB for nothing). They stay; once there is room, the last part sent again with
    no bytes makes the clip."""
    location = begin(alice_api, wav)["Location"]
    assert send(alice_api, location, 0, wav[:-1000]).status_code == 204
    blocking = Clip.objects.create(owner=alice, original_filename="big.wav", size_bytes=10**9, sha256="0")
    settings.USER_STORAGE_QUOTA_BYTES = 10**9 + len(wav) // 2  # the rest of the file no longer fits
    refused = send(alice_api, location, len(wav) - 1000, wav[-1000:])
    assert refused.status_code == 400 and "Your file is kept" in refused.json()["detail"]
    where = alice_api.head(location, **TUS)
    assert (where.status_code, where["Upload-Offset"]) == (200, str(len(wav)))  # every byte kept
    blocking.delete()  # room again
    again = send(alice_api, location, len(wav), b"")
    assert again.status_code == 204, again.content
    clip = Clip.objects.get(pk=int(again["Upload-Clip-Id"]))
    assert clip.sha256 == hashlib.sha256(wav).hexdigest()
    assert not ResumableUpload.objects.exists()


def test_a_new_upload_is_refused_while_the_uploads_under_way_need_the_rest_of_the_disk(
    alice_api, bob_api, settings
):
    """Issue 27, item 5: one user's unfinished upload, within their quota, could fill the shared
    folder for everyone. What the uploads under way still have to send is kept free: a new upload
    that does not fit beside it and the floor is refused at once, 507, with nothing kept."""
    import shutil

    gib = 1024**3
    free = shutil.disk_usage(settings.RESUMABLE_DIR).free

    def declare(api, length: int):  # an upload's length is declared before any byte is sent
        return api.post("/api/uploads/", HTTP_UPLOAD_LENGTH=str(length), **TUS)

    settings.USER_STORAGE_QUOTA_BYTES = 0  # no quota: the disk is the limit here
    settings.UPLOAD_MAX_BYTES = 2 * gib
    settings.RESUMABLE_FREE_FLOOR_BYTES = free - 3 * gib  # room for three gigabytes (give or take one)
    assert declare(alice_api, gib).status_code == 201
    assert declare(alice_api, gib).status_code == 201
    refused = declare(bob_api, 2 * gib)  # bob's would leave a gigabyte less than the floor
    assert refused.status_code == 507 and "no room for a file this size" in refused.json()["detail"]
    assert ResumableUpload.objects.count() == 2
