"""Live classification through the API: chunks from a script, windows that follow the sound,
finish into an ordinary clip; other users' sessions are 404, and sessions are bounded."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile
from rest_framework.test import APIClient

from classify.models import Clip, LiveSession

# Chunks commit as they arrive and their tasks are queued after commit (classify/infra/queue.py).
pytestmark = pytest.mark.django_db(transaction=True)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def wav_chunks(samples: np.ndarray, rate: int, seconds: float = 1.0, channels: int = 1):
    step = int(rate * seconds)
    for start in range(0, len(samples), step):
        piece = samples[start : start + step]
        if channels == 2:
            piece = np.stack([piece, piece], axis=1)
        buffer = io.BytesIO()
        soundfile.write(buffer, piece, rate, format="WAV", subtype="PCM_16")
        yield buffer.getvalue()


def speech_then_music() -> tuple[np.ndarray, int]:
    speech, rate = soundfile.read(FIXTURES / "speech.flac", dtype="float32")
    music, _ = soundfile.read(FIXTURES / "music.flac", dtype="float32")
    return np.concatenate([speech, speech, music, music]), rate


def post_chunk(api, session_id, data):
    return api.post(f"/api/live/{session_id}/chunks/", data, content_type="audio/wav")


def test_a_script_streams_chunks_sees_the_label_follow_the_sound_and_keeps_the_recording(
    alice_api, django_capture_on_commit_callbacks
):
    opened = alice_api.post("/api/live/")
    assert opened.status_code == 201
    session_id = opened.json()["id"]
    samples, rate = speech_then_music()
    answers = [post_chunk(alice_api, session_id, chunk) for chunk in wav_chunks(samples, rate)]
    assert all(a.status_code == 200 for a in answers), answers[-1].content
    windows = answers[-1].json()["windows"]
    assert windows[0]["start"] == 0 and windows[-1]["end"] == pytest.approx(len(samples) / rate, abs=1.6)
    assert windows[0]["label"] == "speech" and windows[-1]["label"] == "music", [w["label"] for w in windows]
    with django_capture_on_commit_callbacks(execute=True):
        finished = alice_api.post(f"/api/live/{session_id}/finish/")
    assert finished.status_code == 201
    clip = finished.json()
    assert clip["filename"].startswith("live-") and clip["duration_s"] == pytest.approx(
        len(samples) / rate, abs=0.05
    )
    assert alice_api.get(f"/api/clips/{clip['id']}/").json()["status"] == "done"
    assert post_chunk(alice_api, session_id, next(wav_chunks(samples, rate))).status_code == 409
    assert not (
        Path(Clip.objects.get().file.path).parent.parent.parent / "live" / f"{session_id}.pcm"
    ).exists()


def test_chunks_may_come_at_any_rate_in_stereo(alice_api):
    session_id = alice_api.post("/api/live/").json()["id"]
    samples, rate = speech_then_music()
    resampled = np.interp(np.arange(0, len(samples), rate / 44_100), np.arange(len(samples)), samples).astype(
        np.float32
    )
    chunk = next(wav_chunks(resampled, 44_100, seconds=2.0, channels=2))
    body = post_chunk(alice_api, session_id, chunk).json()
    assert body["received_s"] == pytest.approx(2.0, abs=0.01) and body["windows"]


def test_another_users_session_is_404_and_no_token_is_401(alice_api, bob_api):
    session_id = alice_api.post("/api/live/").json()["id"]
    samples, rate = speech_then_music()
    chunk = next(wav_chunks(samples, rate))
    assert post_chunk(bob_api, session_id, chunk).status_code == 404
    assert bob_api.post(f"/api/live/{session_id}/finish/").status_code == 404
    assert bob_api.get(f"/api/live/{session_id}/").status_code == 404
    assert APIClient().post("/api/live/").status_code == 401
    assert post_chunk(APIClient(), session_id, chunk).status_code == 401


def test_an_over_long_session_is_cut_with_a_clear_message(alice_api, settings):
    settings.LIVE_MAX_S = 3
    session_id = alice_api.post("/api/live/").json()["id"]
    samples, rate = speech_then_music()
    statuses, last = [], None
    for chunk in wav_chunks(samples[: rate * 5], rate):
        last = post_chunk(alice_api, session_id, chunk)
        statuses.append(last.status_code)
    assert statuses == [200, 200, 200, 409, 409]
    assert "limit of" in last.json()["detail"] or "expired" in last.json()["detail"]
    assert LiveSession.objects.get().status == "expired"


def test_a_chunk_that_is_not_wav_is_a_400(alice_api):
    session_id = alice_api.post("/api/live/").json()["id"]
    response = post_chunk(alice_api, session_id, b"not audio at all" * 10)
    assert response.status_code == 400 and "WAV" in response.json()["detail"]


def test_idle_sessions_are_swept_with_their_audio(alice_api, settings):
    from datetime import timedelta

    from django.utils import timezone

    from classify.live import sessions

    session_id = alice_api.post("/api/live/").json()["id"]
    session = LiveSession.objects.get()
    post_chunk(alice_api, session_id, next(wav_chunks(*speech_then_music())))
    assert sessions.stored_samples(session) > 0
    later = timezone.now() + timedelta(seconds=settings.LIVE_IDLE_S + 1)
    assert sessions.sweep_idle(now=later) == [session_id]
    assert sessions.stored_samples(session) == 0 and LiveSession.objects.get().status == "expired"


def test_finishing_over_the_upload_limit_loses_nothing_and_can_be_retried(alice_api, settings):
    from django.core.cache import cache

    cache.clear()
    settings.UPLOAD_RATE = "1/hour"
    session_id = alice_api.post("/api/live/").json()["id"]
    samples, rate = speech_then_music()
    for chunk in list(wav_chunks(samples, rate))[:3]:
        assert post_chunk(alice_api, session_id, chunk).status_code == 200
    from tests.django_layer import as_upload

    alice_api.post("/api/clips/", {"file": as_upload(FIXTURES / "speech.flac")}, format="multipart")
    refused = alice_api.post(f"/api/live/{session_id}/finish/")
    assert refused.status_code == 429 and "recording is kept" in refused.json()["detail"]
    from classify.live import sessions

    session = LiveSession.objects.get()
    assert session.status == "open" and sessions.stored_samples(session) == 3 * sessions.RATE
    cache.clear()  # the hour has passed
    assert alice_api.post(f"/api/live/{session_id}/finish/").status_code == 201
    cache.clear()


def test_a_session_deleted_while_its_chunk_waits_answers_409_with_a_message_not_500(alice_api, settings):
    """The sweeper (or the owner deleting the account in another tab) removes the session while a
    chunk waits for its windows: the chunk gets a sentence, never a server error."""
    import threading
    import time

    settings.CLASSIFY_SYNC, settings.LIVE_WAIT_S = False, 3.0  # no worker: the chunk waits its full time
    session_id = alice_api.post("/api/live/").json()["id"]
    chunk = next(wav_chunks(*speech_then_music()))

    def remove_soon() -> None:
        time.sleep(0.8)
        LiveSession.objects.filter(pk=session_id).delete()

    remover = threading.Thread(target=remove_soon)
    remover.start()
    response = post_chunk(alice_api, session_id, chunk)
    remover.join()
    assert response.status_code == 409, response.content
    assert response.json() == {"detail": "This live session was closed while the chunk was being classified."}
    gone = post_chunk(alice_api, session_id, chunk)
    assert gone.status_code == 404 and gone.json()["detail"]


def test_live_sessions_are_opened_at_a_bounded_rate_and_closed_ones_are_forgotten(alice_api, settings):
    """Issue 27: live sessions could be opened without limit and were kept forever."""
    from datetime import timedelta

    from django.utils import timezone

    from classify.live import sessions

    settings.LIVE_SESSION_RATE = "3/hour"
    opened = [alice_api.post("/api/live/") for _ in range(4)]
    assert [r.status_code for r in opened] == [201, 201, 201, 429]
    assert "Too many live sessions" in opened[-1].json()["detail"] and opened[-1]["Retry-After"]
    LiveSession.objects.exclude(status="open").update(last_chunk_at=timezone.now() - timedelta(days=8))
    sessions.sweep_idle()  # the two closed by newer ones, a week old, go; the open one stays
    assert list(LiveSession.objects.values_list("status", flat=True)) == ["open"]
