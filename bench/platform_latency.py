"""Platform latency on this machine: upload -> done, and the history API under concurrency.

    make bench-platform      # (runs this under the embedded PostgreSQL when DATABASE_URL is unset)

Starts gunicorn (2 workers x 4 threads) and one django-q2 worker against a scratch database
`<name>_bench`, warms the worker with one clip, then:
1. uploads 20 ten-second clips one after another over HTTP and times each from the start of
   the POST until the API says `done` (polled every 10 ms);
2. fills a second user's history with 1,000 classified clips and times `GET /api/clips/` from
   10 concurrent clients, 30 requests each.
Prints p50 / p95 for both. Targets: upload -> done p50 <= 1.0 s, p95 <= 2.0 s; list p50 <= 50 ms.
"""

from __future__ import annotations

import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import fill_history, percentile, platform, ten_second_clip  # noqa: E402


def main() -> int:
    with platform("bench") as base:
        from django.contrib.auth.models import User
        from rest_framework.authtoken.models import Token

        uploader = User.objects.create_user("uploader", password="bench-password-1")
        reader = User.objects.create_user("reader", password="bench-password-1")
        headers = {"Authorization": f"Token {Token.objects.create(user=uploader).key}"}
        reader_headers = {"Authorization": f"Token {Token.objects.create(user=reader).key}"}
        session = requests.Session()

        def upload_until_done(seed: int) -> float:
            started = time.perf_counter()
            response = session.post(
                f"{base}/api/clips/",
                headers=headers,
                files={"file": (f"clip{seed}.wav", ten_second_clip(seed), "audio/wav")},
            )
            response.raise_for_status()
            url = f"{base}/api/clips/{response.json()['id']}/"
            while True:
                status = session.get(url, headers=headers).json()["status"]
                if status in ("done", "failed"):
                    assert status == "done", session.get(url, headers=headers).json()["error"]
                    return time.perf_counter() - started
                time.sleep(0.01)

        warm = upload_until_done(999)
        latencies = [upload_until_done(seed) for seed in range(20)]

        fill_history(reader, 1000)
        list_url = f"{base}/api/clips/"

        def client(_: int) -> list[float]:
            own = requests.Session()
            timings = []
            for _ in range(30):
                started = time.perf_counter()
                response = own.get(list_url, headers=reader_headers)
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200 and response.json()["count"] == 1000
            return timings

        with ThreadPoolExecutor(10) as pool:
            list_timings = [t for chunk in pool.map(client, range(10)) for t in chunk]

    print(f"first upload -> done (worker loading the model): {warm:.2f} s")
    print(
        f"upload -> done, 20 x 10 s clips: p50 {statistics.median(latencies):.3f} s, "
        f"p95 {percentile(latencies, 95):.3f} s, max {max(latencies):.3f} s"
    )
    print(
        f"GET /api/clips/ (1,000 clips, 10 concurrent clients, {len(list_timings)} requests): "
        f"p50 {statistics.median(list_timings) * 1000:.1f} ms, p95 {percentile(list_timings, 95) * 1000:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
