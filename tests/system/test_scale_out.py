"""The multi-machine layout on one machine: gunicorn, two qcluster processes on Redis, files in
an S3 bucket (moto's server), one PostgreSQL. Every clip is done exactly once; a killed worker's
clip is taken back within 90 s; a task over its time limit gives its clip back at once; a
qcluster stops within 10 s when its whole process group gets SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django_q.models import Task
from rest_framework.authtoken.models import Token

from classify.infra import queue
from classify.models import Classification, Clip
from tests.audio_factory import chord, write
from tests.conftest import ROOT
from tests.system.conftest import start_web, wait_until, worker_env

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]

MANAGE = [sys.executable, str(ROOT / "manage.py")]

# These tests are about workers on one queue: the half-hour file stays on the clips' queue here
# (tests/system/test_queues_apart.py tests the long recordings' own).
ONE_QUEUE_S = str(10**7)


@pytest.fixture(scope="module")
def half_hour_flac(tmp_path_factory):
    """30 minutes (the upload limit): about a second and a half of a worker's time."""
    return write(tmp_path_factory.mktemp("long") / "half-hour.flac", chord(30 * 60.0, seed=3))


def start_cluster(start_process, name: str, env: dict):
    cluster = start_process(name, [*MANAGE, "qcluster"], env)
    wait_until(lambda: "loaded model" in cluster.log_path.read_text(), 90, f"{name} to load the model")
    return cluster


def done_results(clip_ids) -> dict[int, int]:
    """How many times a task reported each clip done (django-q2 keeps every task's result)."""
    counts = dict.fromkeys(clip_ids, 0)
    for result in Task.objects.filter(func=queue.CLASSIFY_CLIP).values_list("result", flat=True):
        match = re.match(r"clip (\d+): done", str(result))
        if match and int(match[1]) in counts:
            counts[int(match[1])] += 1
    return counts


def test_two_clusters_on_redis_classify_50_uploads_each_exactly_once(
    start_process, settings, s3_bucket, redis_url, alice, music_wav
):
    env = worker_env(settings, REDIS_URL=redis_url, **s3_bucket.env)
    base = start_web(start_process, env, "--threads", "4").base_url
    clusters = [start_cluster(start_process, f"qcluster-{n}", {**env, "LOG_FORMAT": "json"}) for n in (1, 2)]
    token = Token.objects.create(user=alice).key

    def upload(n: int) -> int:
        with music_wav.open("rb") as audio:
            response = requests.post(
                f"{base}/api/clips/",
                files={"file": (f"tune-{n}.wav", audio, "audio/wav")},
                headers={"Authorization": f"Token {token}"},
                timeout=60,
            )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        clip_ids = list(pool.map(upload, range(50)))
    finished = Clip.objects.filter(pk__in=clip_ids, status__in=["done", "failed"])
    wait_until(lambda: finished.count() == 50, 120, "50 clips to finish", every_s=0.5)

    clips = Clip.objects.filter(pk__in=clip_ids)
    assert set(clips.values_list("status", flat=True)) == {"done"}
    assert set(clips.values_list("attempts", flat=True)) == {1}
    wait_until(lambda: sum(done_results(clip_ids).values()) >= 50, 30, "the results to be saved")
    assert set(done_results(clip_ids).values()) == {1}
    # Both clusters worked, and every line a worker wrote about a clip names it.
    for cluster in clusters:
        lines = [
            json.loads(line) for line in cluster.log_path.read_text().splitlines() if line.startswith("{")
        ]
        done_lines = [
            line for line in lines if line["message"].startswith("clip ") and " done: " in line["message"]
        ]
        assert done_lines, f"{cluster.log_path.name} classified nothing"
        assert all(line["clip_id"] == int(line["message"].split()[1]) for line in done_lines)
    keys = {item["Key"] for item in s3_bucket.list_objects_v2(Bucket=s3_bucket.name)["Contents"]}
    assert keys == set(clips.values_list("file", flat=True))


def test_a_killed_workers_clip_is_taken_by_another_within_15_s_and_done_once(
    start_process, settings, redis_url, alice, half_hour_flac
):
    env = worker_env(settings, REDIS_URL=redis_url, LONG_CLIP_S=ONE_QUEUE_S)  # two workers, one queue
    base = start_web(start_process, env, "--threads", "4").base_url
    for n in (1, 2):
        start_cluster(start_process, f"qcluster-{n}", env)
    token = Token.objects.create(user=alice).key
    with half_hour_flac.open("rb") as audio:
        response = requests.post(
            f"{base}/api/clips/",
            files={"file": audio},
            headers={"Authorization": f"Token {token}"},
            timeout=120,
        )
    clip_id = response.json()["id"]
    clip = Clip.objects.filter(pk=clip_id)
    wait_until(lambda: clip.filter(status="processing").exists(), 60, "a worker to claim it", every_s=0.01)
    holder = clip.get().worker
    os.kill(int(holder.rsplit(":", 1)[1]), signal.SIGKILL)
    killed_at = time.monotonic()

    # Its lease (CLASSIFY_LEASE_S, 10 s) runs out; the other worker's keeper (a tick under 2 s)
    # gives it back to the queue, and that worker takes it.
    taken_again = clip.filter(status__in=["processing", "done"], attempts=2)
    wait_until(taken_again.exists, 15, "another worker to take it", every_s=0.05)
    taken_s = time.monotonic() - killed_at
    wait_until(lambda: clip.filter(status__in=["done", "failed"]).exists(), 60, "the clip to be done again")
    recovered_s = time.monotonic() - killed_at
    done = clip.get()
    assert done.status == "done" and done.attempts == 2 and done.worker == "", done.error
    assert Classification.objects.filter(clip=done).count() == 1  # done once
    print(f"killed worker {holder}; clip taken again {taken_s:.1f} s later, done {recovered_s:.1f} s later")


def test_a_task_over_its_time_limit_gives_its_clip_back_then_fails_it(
    start_process, settings, alice, half_hour_flac
):
    # The limit travels with the task (set where it is queued, scaled to the clip's length): one
    # second here, whatever the length.
    settings.CLASSIFY_SYNC, settings.CLASSIFY_TASK_TIMEOUT_S, settings.CLASSIFY_MIN_SPEED = False, 1, 100_000
    settings.LONG_CLIP_S = int(ONE_QUEUE_S)
    env = worker_env(
        settings,
        CLASSIFY_TASK_TIMEOUT_S="1",
        CLASSIFY_MAX_ATTEMPTS="2",
        CLASSIFY_MIN_SPEED="100000",
        LONG_CLIP_S=ONE_QUEUE_S,
    )
    cluster = start_cluster(start_process, "qcluster", env)
    from classify.clips import intake
    from tests.django_layer import as_upload

    clip = intake.create_clip(alice, as_upload(half_hour_flac, content_type="audio/flac"))
    started = time.monotonic()
    wait_until(lambda: Clip.objects.filter(pk=clip.pk, status="failed").exists(), 60, "the clip to fail")
    clip.refresh_from_db()
    assert clip.attempts == 2
    assert (
        clip.error.startswith("Classification took longer than the limit of 1 s.") and "2 times" in clip.error
    )
    assert time.monotonic() - started < 60
    assert "requeued: Classification took longer" in cluster.log_path.read_text()


def test_qcluster_stops_within_10_s_when_its_process_group_gets_sigterm(
    start_process, settings, alice_api, music_wav
):
    settings.CLASSIFY_SYNC = False
    cluster = start_cluster(start_process, "qcluster", worker_env(settings))
    from tests.django_layer import as_upload

    alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart")
    started = time.monotonic()
    os.killpg(cluster.pid, signal.SIGTERM)

    def group_gone() -> bool:
        cluster.poll()
        try:
            os.killpg(cluster.pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(group_gone, 10, "every qcluster process to exit")
    print(f"qcluster stopped {time.monotonic() - started:.1f} s after SIGTERM to its group")
