"""Live mode: how long after a sound its label arrives, for a simulated client.

    make bench-live      # (under the embedded PostgreSQL when DATABASE_URL is unset)

Starts gunicorn and one django-q2 worker (warmed with one clip), opens a live session over the
API and plays speech, then music (the committed fixtures, about 22 s) in real time: every second
it posts the second just "captured" as a WAV chunk. A second's latency is the time from the
moment its last sample was captured to the first answer whose timeline reaches it (the answer
usually carries it: the chunk request waits for the worker). Prints p50 / p95 / max, and the
labels of the full windows in order. Targets: p50 <= 1.5 s, every label <= 2 s.
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
        captured, answers = [], []  # when each second was captured; (arrival, timeline end) per answer
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
            windows = answer.json()["windows"]
            captured.append(captured_until)
            answers.append((time.perf_counter() - started, max((w["end"] for w in windows), default=0.0)))
            labels.update({round(w["start"], 1): w["label"] for w in windows if w["end"] - w["start"] > 2.99})
        finished = http.post(f"{base}/api/live/{session}/finish/")
        finished.raise_for_status()

    latencies = [
        next(arrival for arrival, reached in answers if reached >= moment - 1e-3) - moment
        for moment in captured
    ]
    timeline = [labels[start] for start in sorted(labels)]
    print(
        f"{len(samples) / rate:.1f} s of speech then music in {CHUNK_S:.0f} s chunks ({len(latencies)} chunks)"
    )
    print(
        f"newest sound -> label: p50 {statistics.median(latencies):.2f} s, p95 {np.percentile(latencies, 95):.2f} s, "
        f"max {max(latencies):.2f} s"
    )
    oldest = [latency + CHUNK_S for latency in latencies]  # the chunk's first sample waited a second more
    print(
        f"oldest sound of a chunk -> label: p50 {statistics.median(oldest):.2f} s, "
        f"p95 {np.percentile(oldest, 95):.2f} s, max {max(oldest):.2f} s"
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
