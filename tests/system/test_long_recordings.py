"""Long recordings through the real worker: a two-hour file is classified with the worker's peak
memory within a bound (the whole-file path would need its 16 kHz samples, 460 MB, and more), its
progress shows on the clip while it runs, and a worker killed half-way through leaves the clip to
another, done exactly once."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import psutil
import pytest
import soundfile
from django.core.files.uploadedfile import UploadedFile

from classify.clips import intake
from classify.models import Classification, Clip
from tests.conftest import FIXTURES
from tests.system.conftest import wait_until, worker_env
from tests.system.test_bomb_memory import peak_mb
from tests.system.test_scale_out import start_cluster

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]
BOUND_MB = 200  # above the worker's peak after a short clip; 460 MB is the two hours' samples alone


@pytest.fixture(scope="module")
def two_hours(tmp_path_factory):
    """Two hours of the real fixtures in turn (speech, music, rain), written a minute at a time."""
    parts = [
        soundfile.read(FIXTURES / n, dtype="float32")[0]
        for n in ("speech.flac", "music.flac", "noise-rain.flac")
    ]
    minute = np.concatenate([np.tile(part, 6)[: 20 * 16_000] for part in parts])
    path = tmp_path_factory.mktemp("long") / "two-hours.flac"
    with soundfile.SoundFile(path, "w", 16_000, 1, format="FLAC") as out:
        for _ in range(120):
            out.write(minute)
    return path


# These tests are about the streaming worker itself, one cluster: long recordings stay on the
# clips' queue here (test_queues_apart.py tests the long-recording queue).
ONE_QUEUE_S = 10**7


def upload(owner, path) -> Clip:
    """Through the same intake as an upload (checks, storage, queue), from a link to the file
    (the storage moves a temporary upload into place)."""
    link = path.with_name(f"upload-{time.monotonic_ns()}.flac")
    os.link(path, link)
    with link.open("rb") as handle:
        uploaded = UploadedFile(
            handle, name="two-hours.flac", content_type="audio/flac", size=link.stat().st_size
        )
        uploaded.temporary_file_path = lambda: str(link)
        return intake.create_clip(owner, uploaded)


def test_two_hours_are_classified_with_the_workers_memory_bounded_and_progress_shown(
    start_process, settings, alice, two_hours, music_wav
):
    settings.CLASSIFY_SYNC, settings.LONG_CLIP_S = False, ONE_QUEUE_S
    # A lease far shorter than the work: the living worker's keeper renews it, so the clip is never
    # taken from it (one attempt), however long it takes.
    env = worker_env(settings, LONG_CLIP_S=str(ONE_QUEUE_S), CLASSIFY_LEASE_S="3")
    cluster = start_cluster(start_process, "qcluster", env)
    from tests.django_layer import as_upload

    short = intake.create_clip(alice, as_upload(music_wav))
    wait_until(lambda: Clip.objects.filter(pk=short.pk, status="done").exists(), 60, "a short clip")
    worker = max(psutil.Process(cluster.pid).children(recursive=True), key=lambda p: p.memory_info().rss)
    after_short = peak_mb(worker.pid)

    clip = Clip.objects.filter(pk=upload(alice, two_hours).pk)
    seen: list[dict] = []

    def finished() -> bool:
        progress = clip.values_list("progress", flat=True).get()
        if progress and (not seen or progress["done_s"] != seen[-1]["done_s"]):
            seen.append(progress)
        return clip.filter(status__in=["done", "failed"]).exists()

    wait_until(finished, 300, "two hours to be classified", every_s=0.2)
    done = clip.select_related("result").get()
    assert done.status == "done", done.error
    assert done.attempts == 1 and done.result.processing_s > 3
    grown = peak_mb(worker.pid) - after_short
    print(
        f"two hours in {done.result.processing_s:.0f} s; worker peak grew {grown:.0f} MB; {len(seen)} progress reports"
    )
    assert grown < BOUND_MB
    assert seen and all(
        0 < p["done_s"] < done.duration_s and p["total_s"] == pytest.approx(done.duration_s, abs=1)
        for p in seen
    )
    assert seen[-1]["segments"] and done.progress == {}  # the timeline so far, then cleared
    assert done.result.segments.count() > 300  # 20 s runs of each kind: about 360


def test_a_worker_killed_half_way_through_a_long_clip_leaves_it_done_exactly_once(
    start_process, settings, alice, two_hours
):
    settings.CLASSIFY_SYNC, settings.LONG_CLIP_S = False, ONE_QUEUE_S
    env = worker_env(settings, CLASSIFY_LEASE_S="6", LONG_CLIP_S=str(ONE_QUEUE_S))
    first = start_cluster(start_process, "qcluster-1", env)
    clip = Clip.objects.filter(pk=upload(alice, two_hours).pk)
    wait_until(
        lambda: bool(clip.values_list("progress", flat=True).get()), 120, "progress half-way", every_s=0.1
    )
    os.killpg(first.pid, signal.SIGKILL)  # the machine dies mid-clip
    first.wait()
    start_cluster(start_process, "qcluster-2", env)
    wait_until(lambda: clip.filter(status__in=["done", "failed"]).exists(), 300, "the clip to be done again")
    done = clip.get()
    assert done.status == "done" and done.attempts == 2, done.error
    assert Classification.objects.filter(clip=done).count() == 1 and done.result.segments.count() > 300
