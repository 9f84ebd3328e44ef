"""Live chunks are checked from their header before anything is decoded, and the body is read no
further than a valid chunk can reach."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile

from classify.live import sessions

pytestmark = pytest.mark.django_db(transaction=True)


def wav(
    seconds: float, rate: int = 16_000, channels: int = 1, subtype: str = "PCM_16", fmt: str = "WAV"
) -> bytes:
    frames = int(seconds * rate)
    samples = 0.2 * np.sin(np.arange(frames) / 7.0)[:, None].repeat(channels, axis=1)
    buffer = io.BytesIO()
    soundfile.write(buffer, samples.astype(np.float32), rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


@pytest.fixture
def session_id(alice_api):
    return alice_api.post("/api/live/").json()["id"]


def post(api, session_id, body: bytes):
    return api.post(f"/api/live/{session_id}/chunks/", body, content_type="audio/wav")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (wav(0.5, fmt="FLAC", subtype="PCM_16"), "must be an uncompressed WAV file"),
        (wav(0.02, rate=384_000, channels=8), "mono or stereo at 8-48 kHz, not 8 channel(s) at 384000 Hz"),
        (wav(6.0), "at most 5 s of audio"),
        (wav(0.0, rate=44_100), "at least 10 ms"),
        (wav(1 / 44_100, rate=44_100), "at least 10 ms"),
        (b"RIFF\x00\x00\x00\x00not a wave at all", "not a WAV file"),
    ],
)
def test_a_chunk_outside_the_limits_is_refused_and_the_session_goes_on(alice_api, session_id, body, says):
    refused = post(alice_api, session_id, body)
    assert refused.status_code == 400 and says in refused.json()["detail"], refused.content
    assert post(alice_api, session_id, wav(1.0)).status_code == 200  # nothing broken: no 500 after


def test_a_body_larger_than_any_valid_chunk_is_refused_unread(alice_api, session_id):
    too_big = b"RIFF" + b"\x00" * (sessions.max_chunk_bytes() + 10)
    refused = post(alice_api, session_id, too_big)
    assert refused.status_code == 413 and "at most 5 s" in refused.json()["detail"]


def test_stereo_48_khz_float_chunks_are_taken(alice_api, session_id):
    taken = post(alice_api, session_id, wav(1.0, rate=48_000, channels=2, subtype="FLOAT"))
    assert taken.status_code == 200 and taken.json()["received_s"] == pytest.approx(1.0, abs=0.01)


def test_finishing_twice_at_once_makes_one_clip_and_later_chunks_are_refused(alice, session_id):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from rest_framework.test import APIClient

    from classify.models import Clip

    client = APIClient()
    client.force_authenticate(alice)
    assert post(client, session_id, wav(2.0)).status_code == 200

    def finish(_):
        try:
            other = APIClient()
            other.force_authenticate(alice)
            return other.post(f"/api/live/{session_id}/finish/")
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(finish, range(2)))
    assert [a.status_code for a in answers] == [201, 201], [a.content for a in answers]
    assert (
        answers[0].json()["id"] == answers[1].json()["id"] and Clip.objects.filter(owner=alice).count() == 1
    )
    late = post(client, session_id, wav(1.0))
    assert late.status_code == 409 and "finished" in late.json()["detail"]


def test_a_flood_of_chunks_queues_one_tail_task_per_session(alice_api, session_id, settings):
    from django_q.models import OrmQ

    settings.CLASSIFY_SYNC = False  # the tasks wait in the (ORM) queue, as behind a busy worker
    settings.LIVE_WAIT_S = 0
    OrmQ.objects.all().delete()
    for _ in range(6):
        assert post(alice_api, session_id, wav(0.5)).status_code == 200
    assert OrmQ.objects.count() == 1  # the waiting task will classify up to the newest chunk


def test_chunks_past_the_users_rate_answer_429_with_when_to_retry(alice_api, session_id, settings):
    from django.core.cache import cache

    cache.clear()
    settings.LIVE_CHUNK_RATE = "3/minute"
    answers = [post(alice_api, session_id, wav(0.5)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "Too many live chunks" in answers[-1].json()["detail"] and int(answers[-1]["Retry-After"]) > 0
