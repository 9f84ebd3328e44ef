"""Fairness: a short clip's wait while one user's three six-hour recordings are classified.

    make bench-fair      # about 5 minutes on 2 cores

Starts the platform as `make run` does on a scratch database (gunicorn, the clips' worker and the
long recordings' own worker, niced), writes a six-hour 16 kHz FLAC, and has one user upload it
three times through the intake (every check an upload gets). While the long recordings' worker
classifies them, another user uploads a ten-second clip through the API every 3 s and waits for
it. Prints the short clips' upload->done before the long ones and while they are classified
(issue 27's case: 188 s when both shared one queue; the target is a few seconds), and how long
the three long ones took.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import requests
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import percentile, platform, ten_second_clip  # noqa: E402

HOURS, LONG_FILES, SHORT_EVERY_S = 6, 3, 3.0


def six_hours(path: Path) -> Path:
    """Six hours of a chord that wanders in pitch (FLAC keeps it small), written ten minutes at a
    time."""
    rate, block_s = 16_000, 600
    with soundfile.SoundFile(path, "w", samplerate=rate, channels=1, format="FLAC") as out:
        for block in range(HOURS * 3600 // block_s):
            t = np.arange(block_s * rate) / rate
            base = 180 + 40 * (block % 7)
            chord = sum(np.sin(2 * np.pi * base * k * t) / k for k in (1, 1.5, 2))
            out.write((0.2 * chord).astype(np.float32))
    return path


def short_clip_wait(session: requests.Session, base: str, seed: int) -> float:
    started = time.monotonic()
    response = session.post(
        f"{base}/api/clips/", files={"file": ("short.wav", ten_second_clip(seed), "audio/wav")}, timeout=60
    )
    assert response.status_code == 201, response.text
    clip_id = response.json()["id"]
    while session.get(f"{base}/api/clips/{clip_id}/", timeout=30).json()["status"] not in ("done", "failed"):
        time.sleep(0.1)
    return time.monotonic() - started


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-fair-"))
    started = time.monotonic()
    recording = six_hours(folder / "six-hours.flac")
    print(
        f"wrote {HOURS} h of FLAC ({recording.stat().st_size / 2**20:.0f} MB) in {time.monotonic() - started:.0f} s"
    )
    with platform("fair", extra_env={"UPLOAD_RATE": "100000/hour"}) as base:
        from django.contrib.auth.models import User
        from django.core.files.uploadedfile import UploadedFile
        from django.db import connections, transaction
        from rest_framework.authtoken.models import Token

        from classify.clips import intake
        from classify.models import Clip

        heavy = User.objects.create_user("heavy", password="bench-password-1")
        light = User.objects.create_user("light", password="bench-password-1")
        session = requests.Session()
        session.headers["Authorization"] = f"Token {Token.objects.create(user=light).key}"
        deadline = time.monotonic() + 120
        while requests.get(f"{base}/readyz", timeout=30).status_code != 200:
            assert time.monotonic() < deadline, "no worker became ready"
            time.sleep(0.5)
        before = [short_clip_wait(session, base, seed) for seed in range(5)]

        long_ids: list[int] = []
        during: list[float] = []
        stop = threading.Event()

        def short_clips() -> None:  # all along, counted while a long recording is at work
            seed = 100
            while not stop.is_set():
                busy = Clip.objects.filter(pk__in=list(long_ids), status="processing").exists()
                wait = short_clip_wait(session, base, seed)
                if busy:
                    during.append(wait)
                seed += 1
                stop.wait(SHORT_EVERY_S)
            connections.close_all()

        measuring = threading.Thread(target=short_clips)
        measuring.start()
        first_upload = time.monotonic()
        for n in range(LONG_FILES):
            checked = time.monotonic()
            with recording.open("rb") as handle, transaction.atomic():
                # (no temporary_file_path: the storage would move the file, not copy it)
                upload = UploadedFile(handle, name=f"six-hours-{n}.flac", size=recording.stat().st_size)
                long_ids.append(intake.create_clip(heavy, upload).pk)
            print(
                f"long recording {n + 1} accepted after {time.monotonic() - checked:.0f} s of checks",
                flush=True,
            )
        long_clips = Clip.objects.filter(pk__in=long_ids)
        while long_clips.exclude(status__in=["done", "failed"]).exists():
            time.sleep(1)
        long_s = time.monotonic() - first_upload
        stop.set()
        measuring.join()
        statuses = sorted(long_clips.values_list("status", flat=True))

    print(
        f"one user's {LONG_FILES} recordings of {HOURS} h: {statuses}, uploaded and classified within {long_s:.0f} s"
    )
    print(
        f"a short clip's upload->done before them: p50 {statistics.median(before):.2f} s, max {max(before):.2f} s"
    )
    print(
        f"a short clip's upload->done while they were classified ({len(during)} clips): "
        f"p50 {statistics.median(during):.2f} s, p95 {percentile(during, 95):.2f} s, max {max(during):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
