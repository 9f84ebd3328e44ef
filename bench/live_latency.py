"""Live mode: how long after a sound its label arrives, for a simulated client.

    make bench-live      # (under the embedded PostgreSQL when DATABASE_URL is unset)

Starts gunicorn and one django-q2 worker (warmed with one clip), opens a live session over the
API and plays speech, then music (the committed fixtures, about 22 s) in real time: every second
it posts the second just "captured" as a WAV chunk. A window's latency is the time from the
moment its last sample was captured to the first answer that carries its label. Prints p50 / p95
/ max, and whether the label followed the sound. Targets: p50 <= 1.5 s, every label <= 2 s.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import requests
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, platform  # noqa: E402

CHUNK_S = 1.0


def speech_then_music() -> tuple[np.ndarray, int]:
    fixtures = ROOT / "tests" / "fixtures"
    speech, rate = soundfile.read(fixtures / "speech.flac", dtype="float32")
    music, _ = soundfile.read(fixtures / "music.flac", dtype="float32")
    return np.concatenate([speech] * 3 + [music] * 3), rate


def wav(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def main() -> int:
    with platform("bench_live", web_workers=1) as base:
        from django.contrib.auth.models import User
        from rest_framework.authtoken.models import Token

        user = User.objects.create_user("listener", password="bench-password-1")
        http = requests.Session()
        http.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"
        samples, rate = speech_then_music()
        warm = http.post(
            f"{base}/api/clips/", files={"file": ("warm.wav", wav(samples[: rate * 4], rate), "audio/wav")}
        )
        warm.raise_for_status()
        while http.get(f"{base}/api/clips/{warm.json()['id']}/").json()["status"] not in ("done", "failed"):
            time.sleep(0.05)

        session = http.post(f"{base}/api/live/").json()["id"]
        step = int(CHUNK_S * rate)
        first_seen: dict[float, float] = {}
        labels: dict[float, str] = {}
        started = time.perf_counter()
        for offset in range(0, len(samples), step):
            chunk = samples[offset : offset + step]
            captured_until = (offset + len(chunk)) / rate
            time.sleep(max(0.0, started + captured_until - time.perf_counter()))  # real time
            answer = http.post(
                f"{base}/api/live/{session}/chunks/",
                data=wav(chunk, rate),
                headers={"Content-Type": "audio/wav"},
            )
            answer.raise_for_status()
            arrived = time.perf_counter() - started
            for window in answer.json()["windows"]:
                first_seen.setdefault(window["end"], arrived)
                labels[window["end"]] = window["label"]
        finished = http.post(f"{base}/api/live/{session}/finish/")
        finished.raise_for_status()

    latencies = [seen - end for end, seen in first_seen.items()]
    timeline = [labels[end] for end in sorted(labels)]
    print(
        f"{len(samples) / rate:.1f} s of speech then music in {CHUNK_S:.0f} s chunks, {len(latencies)} windows"
    )
    print(
        f"sound -> label: p50 {statistics.median(latencies):.2f} s, p95 {np.percentile(latencies, 95):.2f} s, "
        f"max {max(latencies):.2f} s"
    )
    print(
        "labels in order: "
        + " ".join(label[0] for label in timeline)
        + "  (s = speech, m = music, n = noise)"
    )
    print(f"finished into clip {finished.json()['id']} ({finished.json()['duration_s']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
