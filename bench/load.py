"""Load and chaos: the multi-machine layout on this machine, under load, with a worker killed.

    make bench-load      # about 3 minutes; needs Redis on 127.0.0.1:6379 (REDIS_URL to change)

Starts on 127.0.0.1: gunicorn (2 workers x 4 threads), two qcluster processes on the Redis
broker, files in a bucket on moto's S3 server, a scratch PostgreSQL database. Then:
- 20 users each upload 25 ten-second clips; each user sends the next clip once the API says the
  previous one is finished (polled every 0.5 s, as the upload page does), all 20 at once;
- 5 other users reload their history (`GET /api/clips/`, 200 clips each) every 0.5 s meanwhile;
- when 150 clips are accepted, one qcluster is killed with `kill -9` to its whole process group
  (a worker machine dying) while it holds a clip; 45 s later it is started again.
Prints: accepted, done, failed, lost, done twice, upload->done p50 / p95 (from the start of the
POST to the clip's finish time), history p50 / p95, clips per second, and how long the killed
worker's clip took to be done by someone else.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import fill_history, percentile, running_stack, s3_server, ten_second_clip  # noqa: E402

USERS, CLIPS_EACH, READERS = 20, 25, 5
# As the upload page does: ask for the clip's status every half second; a reader reloads their
# history every half second.
# (BENCH_POLL_S / BENCH_READ_EVERY_S to try other paces.)
POLL_S = float(os.environ.get("BENCH_POLL_S", "0.5"))
READ_EVERY_S = float(os.environ.get("BENCH_READ_EVERY_S", "0.5"))
KILL_AFTER_ACCEPTED, RESTART_AFTER_S = 150, 45.0


class Run:
    """What the users saw, shared between their threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.posted_at: dict[int, float] = {}  # clip id -> wall-clock time its POST started
        self.refused: list[str] = []
        self.history_s: list[float] = []
        self.uploading = True


def main() -> int:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8")
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    with (
        s3_server(f"bench-{uuid.uuid4().hex[:8]}") as s3,
        running_stack(
            "load",
            web_workers=2,
            threads=4,
            clusters=2,
            extra_env={"REDIS_URL": redis_url, "Q_SAVE_LIMIT": "0", **s3},
        ) as stack,
    ):
        from django.contrib.auth.models import User
        from rest_framework.authtoken.models import Token

        from classify.models import Clip

        base = stack.base
        uploaders = [
            User.objects.create_user(f"uploader{n}", password="bench-password-1") for n in range(USERS)
        ]
        readers = [
            User.objects.create_user(f"reader{n}", password="bench-password-1") for n in range(READERS)
        ]
        for reader in readers:
            fill_history(reader, 200)
        token = {user.pk: Token.objects.create(user=user).key for user in uploaders + readers}
        wait_for_workers(base)
        run = Run()
        chaos: dict = {}

        def upload_all(user) -> None:
            session = requests.Session()
            session.headers["Authorization"] = f"Token {token[user.pk]}"
            for n in range(CLIPS_EACH):
                posted = time.time()
                response = session.post(
                    f"{base}/api/clips/",
                    files={"file": (f"clip{n}.wav", ten_second_clip(user.pk * 100 + n), "audio/wav")},
                    timeout=120,
                )
                if response.status_code != 201:
                    with run.lock:
                        run.refused.append(f"{response.status_code} {response.text[:100]}")
                    continue
                clip_id = response.json()["id"]
                with run.lock:
                    run.posted_at[clip_id] = posted
                while session.get(f"{base}/api/clips/{clip_id}/", timeout=60).json()["status"] not in (
                    "done",
                    "failed",
                ):
                    time.sleep(POLL_S)

        def read_history(user) -> None:
            session = requests.Session()
            session.headers["Authorization"] = f"Token {token[user.pk]}"
            while run.uploading:
                started = time.perf_counter()
                response = session.get(f"{base}/api/clips/", timeout=60)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200 and response.json()["count"] == 200
                with run.lock:
                    run.history_s.append(elapsed)
                time.sleep(READ_EVERY_S)

        def kill_and_restart() -> None:
            while len(run.posted_at) < KILL_AFTER_ACCEPTED:
                time.sleep(0.05)
            victim = stack.clusters[0]
            pids = {str(p) for p in _group_pids(victim.pid)}
            while True:  # wait until the victim holds a clip, then kill its whole group
                held = Clip.objects.filter(status="processing").values_list("pk", "worker")
                mine = [(pk, worker) for pk, worker in held if worker.rsplit(":", 1)[-1] in pids]
                if mine:
                    break
                time.sleep(0.005)
            stack.kill_cluster(0)
            chaos.update(clip=mine[0][0], worker=mine[0][1], killed=time.time())
            time.sleep(RESTART_AFTER_S)
            stack.start_cluster(0)
            chaos["restarted"] = time.time()

        started = time.time()
        chaos_thread = threading.Thread(target=kill_and_restart, daemon=True)
        chaos_thread.start()
        reader_pool = ThreadPoolExecutor(READERS)
        reading = [reader_pool.submit(read_history, reader) for reader in readers]
        with ThreadPoolExecutor(USERS) as pool:
            list(pool.map(upload_all, uploaders))
        upload_s = time.time() - started
        run.uploading = False
        for future in reading:
            future.result()
        reader_pool.shutdown()
        chaos_thread.join(timeout=RESTART_AFTER_S + 5)

        # Every accepted clip should be finished already (the users waited for each); allow the
        # sweeper's backstop time for any that were not.
        accepted = list(run.posted_at)
        unfinished = Clip.objects.filter(pk__in=accepted).exclude(status__in=["done", "failed"])
        deadline = time.monotonic() + 180
        while unfinished.exists() and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(2)  # the monitors save the last task results
        report(run, accepted, upload_s, chaos)
    return 0


def wait_for_workers(base: str) -> None:
    """Both clusters have loaded the model once /readyz has a heartbeat; then a little more."""
    deadline = time.monotonic() + 120
    while requests.get(f"{base}/readyz", timeout=30).status_code != 200:
        if time.monotonic() > deadline:
            raise TimeoutError("no worker became ready")
        time.sleep(0.5)
    time.sleep(10)


def _group_pids(pgid: int) -> list[int]:
    import psutil

    return [p.pid for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == pgid]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def report(run: Run, accepted: list[int], upload_s: float, chaos: dict) -> None:
    from django_q.models import Task

    from classify.infra import queue
    from classify.models import Clip

    clips = {clip.pk: clip for clip in Clip.objects.filter(pk__in=accepted)}
    done = [clip for clip in clips.values() if clip.status == "done"]
    failed = [clip for clip in clips.values() if clip.status == "failed"]
    completions: dict[int, int] = {}
    for result in Task.objects.filter(func=queue.CLASSIFY_CLIP).values_list("result", flat=True):
        match = re.match(r"clip (\d+): done", str(result))
        if match:
            completions[int(match[1])] = completions.get(int(match[1]), 0) + 1
    twice = sum(1 for clip_id in accepted if completions.get(clip_id, 0) > 1)
    latencies = [clip.finished_at.timestamp() - run.posted_at[clip.pk] for clip in done]
    killed = clips.get(chaos.get("clip"))
    recovered = (
        f"{killed.finished_at.timestamp() - chaos['killed']:.1f} s (attempts {killed.attempts}, status {killed.status})"
        if killed and killed.finished_at
        else "not recovered"
    )
    when = datetime.fromtimestamp(chaos.get("killed", 0), tz=UTC).strftime("%H:%M:%S")
    print(f"users {USERS} x {CLIPS_EACH} ten-second clips, {READERS} history readers, 2 web x 4 threads, "
          f"2 qclusters on Redis, files on S3 (moto)")  # fmt: skip
    print(f"accepted {len(accepted)}, refused {len(run.refused)}, done {len(done)}, failed {len(failed)}, "
          f"lost {len(accepted) - len(done) - len(failed)}, done twice {twice}")  # fmt: skip
    print(f"upload->done: p50 {statistics.median(latencies):.2f} s, p95 {percentile(latencies, 95):.2f} s, "
          f"max {max(latencies):.2f} s")  # fmt: skip
    print(f"history GET /api/clips/ ({len(run.history_s)} requests): p50 {statistics.median(run.history_s) * 1000:.0f} ms, "
          f"p95 {percentile(run.history_s, 95) * 1000:.0f} ms")  # fmt: skip
    print(f"throughput: {len(done) / upload_s:.2f} clips/s over {upload_s:.0f} s")
    print(f"killed qcluster 1 (kill -9 to its group) at {when} while worker {chaos.get('worker')} held clip "
          f"{chaos.get('clip')}; that clip done {recovered} after the kill; qcluster 1 restarted "
          f"{RESTART_AFTER_S:.0f} s after the kill")  # fmt: skip
    if run.refused:
        print("refused:", run.refused[:5])


if __name__ == "__main__":
    sys.exit(main())
