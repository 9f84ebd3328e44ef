"""The classify task: failures are visible, duplicates harmless, stuck clips swept, reruns kept."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from classify.clips import intake, state
from classify.models import Classification, Clip
from tests.audio_factory import chord, write
from tests.django_layer import as_upload, process_clip

pytestmark = pytest.mark.django_db


def queued_clip(owner, path) -> Clip:
    with transaction.atomic():
        return intake.create_clip(owner, as_upload(path))


def test_a_file_that_fails_to_decode_marks_the_clip_failed_with_its_reason(alice, tmp_path):
    # A WAV cut short passes the upload's header check but not the full decode.
    path = write(tmp_path / "cut.wav", chord(8.0))
    clip = queued_clip(alice, path)
    data = path.read_bytes()
    with open(clip.file.path, "wb") as stored:
        stored.write(data[: len(data) // 4])
    outcome = process_clip(clip.pk)
    clip.refresh_from_db()
    assert outcome.status == clip.status == "failed"
    assert "truncated" in clip.error
    assert clip.finished_at is not None and clip.result is None


def test_a_missing_stored_file_marks_the_clip_failed(alice, music_wav):
    clip = queued_clip(alice, music_wav)
    os.remove(clip.file.path)
    process_clip(clip.pk)
    clip.refresh_from_db()
    assert clip.status == "failed" and "could not be found" in clip.error


def test_a_task_delivered_twice_classifies_once(alice, music_wav):
    clip = queued_clip(alice, music_wav)
    assert process_clip(clip.pk).status == "done"
    assert process_clip(clip.pk).status == "skipped"
    clip.refresh_from_db()
    assert clip.attempts == 1 and Classification.objects.filter(clip=clip).count() == 1


def test_a_deleted_clip_is_skipped(alice, music_wav):
    clip = queued_clip(alice, music_wav)
    clip_id = clip.pk
    clip.delete()
    assert process_clip(clip_id).status == "skipped"


def test_a_rerun_with_another_model_version_keeps_the_old_result(alice, music_wav):
    from classify.model_versions.loader import get_classifier

    clip = queued_clip(alice, music_wav)
    process_clip(clip.pk)
    classifier = get_classifier()
    original = classifier.version
    try:
        classifier.version = "newer-model"
        state.requeue(clip.pk)
        process_clip(clip.pk)
    finally:
        classifier.version = original
    clip.refresh_from_db()
    versions = set(Classification.objects.filter(clip=clip).values_list("model_version", flat=True))
    assert versions == {original, "newer-model"}
    assert clip.result.model_version == "newer-model"


def test_the_sweeper_requeues_a_clip_whose_worker_died(alice, music_wav, settings):
    clip = queued_clip(alice, music_wav)
    assert state.claim(clip.pk)  # a worker took it ... and was killed: its lease runs out
    Clip.objects.filter(pk=clip.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    call_command("requeue_stale_clips", "--dry-run")
    assert Clip.objects.get(pk=clip.pk).status == "processing"
    outcome = state.sweep()
    assert outcome["requeued"] == [clip.pk]
    clip.refresh_from_db()
    assert clip.status == "queued" and clip.attempts == 1
    process_clip(clip.pk)
    clip.refresh_from_db()
    assert clip.status == "done" and clip.attempts == 2


def test_the_sweeper_fails_a_clip_out_of_attempts(alice, music_wav, settings):
    clip = queued_clip(alice, music_wav)
    Clip.objects.filter(pk=clip.pk).update(
        status="processing",
        attempts=settings.CLASSIFY_MAX_ATTEMPTS,
        started_at=timezone.now() - timedelta(hours=1),
    )
    assert state.sweep()["failed"] == [clip.pk]
    clip.refresh_from_db()
    assert clip.status == "failed" and "stopped" in clip.error and "giving up" in clip.error


def test_the_sweeper_leaves_fresh_work_alone(alice, music_wav):
    clip = queued_clip(alice, music_wav)
    state.claim(clip.pk)
    assert state.sweep() == {"requeued": [], "failed": []}


def test_admin_can_classify_again(admin_client, alice, music_wav, django_capture_on_commit_callbacks):
    clip = queued_clip(alice, music_wav)
    process_clip(clip.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/classify/clip/", {"action": "classify_again", "_selected_action": [clip.pk]}
        )
    assert response.status_code == 302
    clip.refresh_from_db()
    assert clip.status == "done" and clip.attempts == 1


def test_admin_pages_list_and_filter_clips(admin_client, alice, music_wav):
    clip = queued_clip(alice, music_wav)
    process_clip(clip.pk)
    assert "tune.wav" in admin_client.get("/admin/classify/clip/?status__exact=done&q=alice").content.decode()
    assert admin_client.get(f"/admin/classify/clip/{clip.pk}/change/").status_code == 200
    for page in ("success", "failure", "schedule", "ormq"):
        assert admin_client.get(f"/admin/django_q/{page}/").status_code == 200


def test_the_sweep_command_sweeps_what_the_workers_sweep(alice, settings, django_capture_on_commit_callbacks):
    """One sweeper (classify/housekeeping.py): run by hand, it also expires idle live sessions and
    removes abandoned resumable uploads, as the scheduled task does; with --dry-run, nothing."""
    from io import StringIO

    from classify.clips import resumable
    from classify.live import sessions
    from classify.models import LiveSession, ResumableUpload

    live = sessions.open_session(alice)
    upload = resumable.begin(alice, 1000, "big.wav")
    long_ago = timezone.now() - timedelta(days=2)
    LiveSession.objects.filter(pk=live.pk).update(last_chunk_at=long_ago)
    ResumableUpload.objects.filter(pk=upload.pk).update(updated_at=long_ago)
    said = StringIO()
    call_command("requeue_stale_clips", "--dry-run", stdout=said)
    assert "Would expire 1 idle live session(s)" in said.getvalue()
    assert LiveSession.objects.get(pk=live.pk).status == "open" and ResumableUpload.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):  # the part file goes after commit
        call_command("requeue_stale_clips", stdout=StringIO())
    assert LiveSession.objects.get(pk=live.pk).status == "expired"
    assert not ResumableUpload.objects.filter(pk=upload.pk).exists() and not upload.part_path.exists()


@pytest.mark.django_db(transaction=True)
def test_deleting_a_clip_stops_its_worker_at_the_next_progress_report(alice, settings, tmp_path):
    """Issue 27: a deleted clip's worker went on classifying it to the end (hours, for a long
    recording). It stops at its next progress report instead."""
    import threading
    import time

    import numpy as np
    import soundfile

    from classify.clips import removal
    from tests.conftest import FIXTURES

    settings.CLASSIFY_SYNC = False  # queued, not run in the request: this test runs it below
    settings.CLASSIFY_PROGRESS_EVERY_S = 0.0  # report after every block
    speech, rate = soundfile.read(FIXTURES / "speech.flac", dtype="float32")
    path = tmp_path / "long.flac"
    soundfile.write(path, np.resize(speech, 40 * 60 * rate), rate)  # 40 minutes
    with transaction.atomic():
        clip = intake.create_clip(alice, as_upload(path))
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(process_clip(clip.pk)))
    worker.start()
    deadline = time.monotonic() + 60
    while not Clip.objects.filter(pk=clip.pk).exclude(progress={}).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    removal.delete_clip(Clip.objects.get(pk=clip.pk))
    deleted_at = time.monotonic()
    worker.join(60)
    assert outcome and outcome[0].status == "skipped", outcome
    assert time.monotonic() - deleted_at < 3  # the next report, not the end of 40 minutes
