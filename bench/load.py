"""Load and chaos: the multi-machine layout on this machine, under load, with a worker killed;
the same run with clients that poll and with clients on the event stream, side by side.

    make bench-load      # about 8 minutes; needs Redis on 127.0.0.1:6379 (REDIS_URL to change)

Starts on 127.0.0.1, as `make run` serves: nginx (deploy/nginx.conf) in front of gunicorn (2
workers x 4 threads) and the events server (gunicorn's ASGI worker); two qcluster processes on the
Redis broker, files in a bucket on moto's S3 server, a scratch PostgreSQL database. Then, per phase:
- 20 users each upload 25 ten-second clips; each user sends the next clip once the previous one is
  finished, all 20 at once. `poll`: each asks the API every 0.5 s, as the pages did; `stream`: each
  holds GET /api/clips/events/ open and waits for the clip's `done` event;
- 5 other users reload their history (`GET /api/clips/`, 200 clips each) every 0.5 s meanwhile;
- when 150 clips are accepted, one qcluster is killed with `kill -9` to its whole process group
  (a worker machine dying) while it holds a clip; 45 s later it is started again;
- `stream+idle`: as `stream`, with 1,000 more event streams held open and idle (50 users x 20, a
  page each) by the one events process, whose memory is read before and after they open.
Prints per phase: accepted, done, failed, lost, done twice, upload->done p50 / p95, the time per
stage (the upload request, waiting in the queue, the worker's work, the client hearing of it),
history p50 / p95, clips per second, how long the killed worker's clip took to be done again;
then the phases side by side. BENCH_PHASES=poll,stream,stream+idle picks phases.
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import fill_history, percentile, running_stack, s3_server, ten_second_clip  # noqa: E402

USERS, CLIPS_EACH, READERS = 20, 25, 5
# As the pages did: ask for the clip's status every half second; a reader reloads their history
# every half second. (BENCH_POLL_S / BENCH_READ_EVERY_S to try other paces.)
POLL_S = float(os.environ.get("BENCH_POLL_S", "0.5"))
READ_EVERY_S = float(os.environ.get("BENCH_READ_EVERY_S", "0.5"))
KILL_AFTER_ACCEPTED, RESTART_AFTER_S = 150, 45.0
IDLE_USERS, IDLE_EACH = 50, 20  # 1,000 idle streams
PHASES = os.environ.get("BENCH_PHASES", "poll,stream,stream+idle").split(",")


class Run:
    """What the users saw, shared between their threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.posted_at: dict[int, float] = {}  # clip id -> wall-clock time its POST started
        self.answered_at: dict[int, float] = {}  # clip id -> when the POST's answer came
        self.heard_at: dict[int, float] = {}  # clip id -> when its user learnt it was finished
        self.refused: list[str] = []
        self.history_s: list[float] = []
        self.uploading = True


def main() -> int:
    results = {phase: run_phase(phase) for phase in PHASES}
    print("\nside by side (one machine, one run):")
    names = list(results)
    print(f"{'':34}" + "".join(f"{name:>14}" for name in names))
    for figure in next(iter(results.values())):
        print(f"{figure:34}" + "".join(f"{results[name].get(figure, ''):>14}" for name in names))
    return 0


def run_phase(phase: str) -> dict[str, str]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8")
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    streaming = phase.startswith("stream")
    print(
        f"\n== {phase}: clients {'on the event stream' if streaming else f'polling every {POLL_S} s'}",
        flush=True,
    )
    with (
        s3_server(f"bench-{uuid.uuid4().hex[:8]}") as s3,
        running_stack(
            "load",
            web_workers=2,
            threads=4,
            clusters=2,
            extra_env={
                "REDIS_URL": redis_url, "Q_SAVE_LIMIT": "0", "TRUSTED_PROXY_COUNT": "1",
                "EVENT_STREAMS_PER_USER": str(IDLE_EACH), **s3,
            },
            proxied=True,
        ) as stack,
    ):  # fmt: skip
        from django.contrib.auth.models import User
        from rest_framework.authtoken.models import Token

        from classify.events.feed import read_frames
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
        idle = IdleStreams(base) if phase == "stream+idle" else None
        if idle is not None:
            idle.open(stack.events.pid)
        run = Run()
        chaos: dict = {}

        def upload_all(user) -> None:
            session = requests.Session()
            session.headers["Authorization"] = f"Token {token[user.pk]}"
            finished: dict[int, float] = {}
            frames = None
            if streaming:
                stream = session.get(f"{base}/api/clips/events/", stream=True, timeout=60)
                assert stream.status_code == 200, stream.text
                frames = read_frames(stream.iter_content(chunk_size=None))
                assert next(frames).event == "ready"
            for n in range(CLIPS_EACH):
                posted = time.time()
                response = session.post(
                    f"{base}/api/clips/",
                    files={"file": (f"clip{n}.wav", ten_second_clip(user.pk * 100 + n), "audio/wav")},
                    timeout=120,
                )
                answered = time.time()
                if response.status_code != 201:
                    with run.lock:
                        run.refused.append(f"{response.status_code} {response.text[:100]}")
                    continue
                clip_id = response.json()["id"]
                with run.lock:
                    run.posted_at[clip_id], run.answered_at[clip_id] = posted, answered
                if frames is not None:
                    while clip_id not in finished:
                        frame = next(frames)
                        if frame.event == "clip" and frame.data["status"] in ("done", "failed"):
                            finished[frame.data["id"]] = time.time()
                    heard = finished[clip_id]
                else:
                    while session.get(f"{base}/api/clips/{clip_id}/", timeout=60).json()["status"] not in (
                        "done",
                        "failed",
                    ):
                        time.sleep(POLL_S)
                    heard = time.time()
                with run.lock:
                    run.heard_at[clip_id] = heard

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

        cpu_before = cpu_by_part()
        started = time.time()
        chaos_thread = threading.Thread(target=kill_and_restart, daemon=True)
        chaos_thread.start()
        reader_pool = ThreadPoolExecutor(READERS)
        reading = [reader_pool.submit(read_history, reader) for reader in readers]
        with ThreadPoolExecutor(USERS) as pool:
            list(pool.map(upload_all, uploaders))
        upload_s = time.time() - started
        cpu_used = {part: seconds - cpu_before.get(part, 0.0) for part, seconds in cpu_by_part().items()}
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
        figures = report(run, accepted, upload_s, chaos)
        done = Clip.objects.filter(pk__in=accepted, status="done").count()
        print("CPU per clip done, by part (ms; the machine has 2,000 ms a second):")
        for part, seconds in sorted(cpu_used.items(), key=lambda item: -item[1]):
            print(f"  {part:28} {1000 * seconds / max(done, 1):6.1f}")
            figures[f"CPU ms per clip: {part}"] = f"{1000 * seconds / max(done, 1):.0f}"
        if idle is not None:
            figures.update(idle.report(stack.events.pid))
            idle.close()
    return figures


class IdleStreams:
    """1,000 event streams held open and never read (pages left open), over plain sockets."""

    def __init__(self, base: str):
        import resource

        from django.contrib.auth.models import User
        from rest_framework.authtoken.models import Token

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
        self.host, self.port = urlsplit(base).hostname, urlsplit(base).port
        self.before_mb = 0.0
        self.sockets: list[socket.socket] = []
        keys = [
            Token.objects.create(user=User.objects.create_user(f"idle{n}", password="bench-password-1")).key
            for n in range(IDLE_USERS)
        ]
        self.keys = keys

    def open(self, events_pid: int) -> None:
        self.before_mb = self._rss_mb(events_pid)
        for n in range(IDLE_USERS * IDLE_EACH):
            connection = socket.create_connection((self.host, self.port), timeout=30)
            connection.sendall(
                f"GET /api/clips/events/ HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: Token {self.keys[n % IDLE_USERS]}\r\nAccept: text/event-stream\r\n\r\n".encode()
            )
            self.sockets.append(connection)
        for connection in self.sockets:  # each has its answer and `ready`
            head = connection.recv(4096)
            assert head.startswith(b"HTTP/1.1 200"), head[:200]

    def _rss_mb(self, pid: int) -> float:
        process = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20

    def report(self, events_pid: int) -> dict[str, str]:
        after = self._rss_mb(events_pid)
        print(f"idle streams held by the events process: {len(self.sockets)}; its memory "
              f"{self.before_mb:.0f} MB before, {after:.0f} MB with them (+{after - self.before_mb:.0f} MB)")  # fmt: skip
        return {
            "idle streams held": str(len(self.sockets)),
            "their memory": f"+{after - self.before_mb:.0f} MB",
        }

    def close(self) -> None:
        for connection in self.sockets:
            connection.close()


PARTS = (  # a process's part, by what its command line holds, first match
    ("classifier_site.asgi", "events server"),
    ("classifier_site.wsgi", "web (gunicorn)"),
    ("qcluster", "workers (qcluster)"),
    ("moto_server", "S3 (moto)"),
    ("bench/load.py", "bench clients"),
    ("nginx", "nginx"),
    ("postgres", "PostgreSQL"),
    ("redis-server", "Redis"),
)


def cpu_by_part() -> dict[str, float]:
    """CPU seconds used so far by the processes of each part of the stack (living ones; a killed
    worker's seconds are lost with it)."""
    used: dict[str, float] = {}
    for process in psutil.process_iter(["cmdline", "cpu_times"]):
        command = " ".join(process.info["cmdline"] or [])
        part = next((name for marker, name in PARTS if marker in command), None)
        times = process.info["cpu_times"]
        if part and times:
            used[part] = used.get(part, 0.0) + times.user + times.system
    return used


def wait_for_workers(base: str) -> None:
    """Both clusters have loaded the model once /readyz has a heartbeat; then a little more."""
    deadline = time.monotonic() + 120
    while requests.get(f"{base}/readyz", timeout=30).status_code != 200:
        if time.monotonic() > deadline:
            raise TimeoutError("no worker became ready")
        time.sleep(0.5)
    time.sleep(10)


def _group_pids(pgid: int) -> list[int]:
    return [p.pid for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == pgid]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def report(run: Run, accepted: list[int], upload_s: float, chaos: dict) -> dict[str, str]:
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
    latencies = [run.heard_at[clip.pk] - run.posted_at[clip.pk] for clip in done if clip.pk in run.heard_at]
    calm = [clip for clip in done if clip.attempts == 1 and clip.pk in run.heard_at]
    stages = {
        "upload request": [run.answered_at[c.pk] - run.posted_at[c.pk] for c in calm],
        "queued (row to worker)": [(c.started_at - c.created_at).total_seconds() for c in calm],
        "worker (claim to done)": [(c.finished_at - c.started_at).total_seconds() for c in calm],
        "heard by the client": [run.heard_at[c.pk] - c.finished_at.timestamp() for c in calm],
    }
    killed = clips.get(chaos.get("clip"))
    recovered_s = killed.finished_at.timestamp() - chaos["killed"] if killed and killed.finished_at else None
    recovered = (
        f"{recovered_s:.1f} s (attempts {killed.attempts}, status {killed.status})"
        if killed and recovered_s is not None
        else "not recovered"
    )
    when = datetime.fromtimestamp(chaos.get("killed", 0), tz=UTC).strftime("%H:%M:%S")
    print(f"users {USERS} x {CLIPS_EACH} ten-second clips, {READERS} history readers, 2 web x 4 threads, "
          f"2 qclusters on Redis, files on S3 (moto), behind nginx")  # fmt: skip
    print(f"accepted {len(accepted)}, refused {len(run.refused)}, done {len(done)}, failed {len(failed)}, "
          f"lost {len(accepted) - len(done) - len(failed)}, done twice {twice}")  # fmt: skip
    print(f"upload->done (until the client knew): p50 {statistics.median(latencies):.2f} s, "
          f"p95 {percentile(latencies, 95):.2f} s, max {max(latencies):.2f} s")  # fmt: skip
    for stage, seconds in stages.items():
        print(f"  stage {stage:24} p50 {statistics.median(seconds) * 1000:6.0f} ms, "
              f"p95 {percentile(seconds, 95) * 1000:6.0f} ms")  # fmt: skip
    print(f"history GET /api/clips/ ({len(run.history_s)} requests): p50 {statistics.median(run.history_s) * 1000:.0f} ms, "
          f"p95 {percentile(run.history_s, 95) * 1000:.0f} ms")  # fmt: skip
    print(f"throughput: {len(done) / upload_s:.2f} clips/s over {upload_s:.0f} s")
    print(f"killed qcluster 1 (kill -9 to its group) at {when} while worker {chaos.get('worker')} held clip "
          f"{chaos.get('clip')}; that clip done {recovered} after the kill; qcluster 1 restarted "
          f"{RESTART_AFTER_S:.0f} s after the kill")  # fmt: skip
    if run.refused:
        print("refused:", run.refused[:5])
    sys.stdout.flush()
    figures = {
        "done / lost / twice": f"{len(done)}/{len(accepted) - len(done) - len(failed)}/{twice}",
        "upload->done p50": f"{statistics.median(latencies):.2f} s",
        "upload->done p95": f"{percentile(latencies, 95):.2f} s",
        "clips per second": f"{len(done) / upload_s:.2f}",
        "history p95": f"{percentile(run.history_s, 95) * 1000:.0f} ms",
        "killed clip done again after": f"{recovered_s:.1f} s" if recovered_s is not None else "never",
    }
    for stage, seconds in stages.items():
        figures[f"stage {stage} p50"] = f"{statistics.median(seconds) * 1000:.0f} ms"
    return figures


if __name__ == "__main__":
    sys.exit(main())
