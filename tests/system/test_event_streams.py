"""The push path through the real processes: nginx (deploy/nginx.conf) in front of gunicorn and the
events server (gunicorn's ASGI worker), a real clips worker. A clip's stream carries its status,
its progress and its result in order as they happen, resumes after a dropped connection, and a
buffering proxy in front makes the stream fail visibly (no `ready`), which is what pages fall back
on."""

from __future__ import annotations

import numpy as np
import pytest
import requests
from rest_framework.authtoken.models import Token

from classify.events.feed import read_frames
from tests.audio_factory import chord, write
from tests.conftest import free_port
from tests.system.conftest import start_events, start_proxy, start_web, worker_env

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def progress_every_block(monkeypatch):
    monkeypatch.setenv("CLASSIFY_PROGRESS_EVERY_MS", "1")  # the worker reports after each block


@pytest.fixture
def proxied(settings, start_process, tmp_path, progress_every_block, qcluster):
    env = worker_env(settings)
    web = start_web(start_process, env, "--threads", "4")
    events = start_events(start_process, env)
    return start_proxy(start_process, tmp_path, web.base_url, free_port(), events=events.base_url)


def headers(user) -> dict:
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


def stream(base: str, auth: dict, query: str = "", last_id: int | None = None):
    extra = {} if last_id is None else {"Last-Event-ID": str(last_id)}
    response = requests.get(
        f"{base}/api/clips/events/{query}",
        headers={**auth, "Accept": "text/event-stream", **extra},
        stream=True,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response, read_frames(response.iter_content(chunk_size=None))


def test_a_clips_stream_carries_status_progress_and_result_in_order_and_resumes(proxied, alice, tmp_path):
    auth = headers(alice)
    five_minutes = write(tmp_path / "five-minutes.wav", np.tile(chord(10.0), 30))  # three blocks
    response, frames = stream(proxied, auth)
    assert next(frames).event == "ready"
    with five_minutes.open("rb") as audio:
        created = requests.post(f"{proxied}/api/clips/", files={"file": audio}, headers=auth, timeout=60)
    assert created.status_code == 201, created.text
    clip_id = created.json()["id"]

    seen = []
    for frame in frames:
        if frame.event == "clip" and frame.data["id"] == clip_id:
            seen.append(frame)
            if frame.data["status"] == "processing" and frame.data["progress"]:
                break  # drop the connection half-way, as a phone going through a tunnel does
    response.close()
    last_id = seen[-1].id
    resumed, frames = stream(proxied, auth, last_id=last_id)
    assert next(frames).data == {"resumed_after": last_id}
    for frame in frames:
        if frame.event == "clip":
            seen.append(frame)
            if frame.data["status"] == "done":
                break
    resumed.close()

    statuses = [frame.data["status"] for frame in seen]
    assert statuses[0] == "queued" and statuses[-1] == "done", statuses
    assert statuses == sorted(statuses, key=["queued", "processing", "done"].index), statuses
    done_s = [
        f.data["progress"]["done_s"] for f in seen if f.data["status"] == "processing" and f.data["progress"]
    ]
    assert done_s and done_s == sorted(done_s), done_s
    ids = [frame.id for frame in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
    answer = requests.get(f"{proxied}/api/clips/{clip_id}/", headers=auth, timeout=10).json()
    assert seen[-1].data == answer and answer["label"] == "music"


def test_another_users_clips_stream_is_refused(proxied, alice, bob, music_wav):
    alice_auth, bob_auth = headers(alice), headers(bob)
    with music_wav.open("rb") as audio:
        clip_id = requests.post(
            f"{proxied}/api/clips/", files={"file": audio}, headers=alice_auth, timeout=60
        ).json()["id"]
    refused = requests.get(f"{proxied}/api/clips/events/?clip={clip_id}", headers=bob_auth, timeout=10)
    assert refused.status_code == 404
    anonymous = requests.get(f"{proxied}/api/clips/events/", timeout=10)
    assert anonymous.status_code in (401, 403)
