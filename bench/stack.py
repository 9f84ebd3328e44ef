"""A throw-away platform on 127.0.0.1 for the benchmarks: a scratch database, gunicorn and
django-q2 workers with production settings (and, for the load bench, an S3 server), stopped
(process groups and all) on exit: qcluster stops cleanly on SIGTERM to its group."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
import requests
import soundfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from classifier_site import proxy  # noqa: E402
from classifier_site.queues import LONG_QUEUE  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "8765"))
BASE = f"http://127.0.0.1:{PORT}"


CONFIGURED_DATABASE_URL = os.environ.get("DATABASE_URL", "")


def scratch_database_url(suffix: str) -> str:
    """A fresh `<db>_<suffix>` next to the configured database (made again for each stack of a
    run: this process's own connections to it are closed first)."""
    if "django.apps" in sys.modules:
        from django.apps import apps
        from django.db import connections

        if apps.ready:
            connections.close_all()
    parts = urlsplit(CONFIGURED_DATABASE_URL)
    name = parts.path.lstrip("/") + f"_{suffix}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(what)


def _up() -> bool:
    try:
        return requests.get(f"{BASE}/accounts/login/", timeout=5).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        return False


class Stack:
    """A running platform: its URL, its environment, and its qcluster processes (one may be
    killed and started again)."""

    def __init__(self, base: str, env: dict):
        self.base, self.env = base, env
        self.clusters: list[subprocess.Popen | None] = []
        self.children: list[subprocess.Popen] = []
        self.events: subprocess.Popen | None = None

    def start(self, command: list[str], quiet: bool = True, **extra_env: str) -> subprocess.Popen:
        output = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} if quiet else {}
        env = {**self.env, **extra_env}
        child = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True, **output)
        self.children.append(child)
        return child

    def start_cluster(self, index: int) -> subprocess.Popen:
        cluster = self.start([sys.executable, str(ROOT / "manage.py"), "qcluster"])
        while len(self.clusters) <= index:
            self.clusters.append(None)
        self.clusters[index] = cluster
        return cluster

    def kill_cluster(self, index: int) -> None:
        """SIGKILL to the whole group, as when its machine dies."""
        cluster = self.clusters[index]
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait()

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)


@contextmanager
def running_stack(
    name: str,
    web_workers: int = 2,
    threads: int = 4,
    clusters: int = 1,
    extra_env: dict | None = None,
    proxied: bool = False,
):
    """Migrate a scratch database, set up Django in this process (to make users and tokens),
    start gunicorn and `clusters` qcluster processes; yield the Stack. `proxied`: as `make run`
    serves, nginx (deploy/nginx.conf) on the port in front of gunicorn and the events server
    (the Stack's `events` process, whose memory the load bench reads)."""
    env = {
        **os.environ,
        "DATABASE_URL": scratch_database_url(name),
        "SECRET_KEY": "bench-only-key-" + "0123456789abcdefghijklmnopqrstuvwxyzABCDEF",
        "DJANGO_SETTINGS_MODULE": "classifier_site.settings",
        "MEDIA_ROOT": tempfile.mkdtemp(prefix="bench-media-"),
        "STATIC_ROOT": tempfile.mkdtemp(prefix="bench-static-"),
        "UPLOAD_RATE": "100000/hour",
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    os.environ.update(env)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], check=True, env=env, cwd=ROOT)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], check=True, env=env, cwd=ROOT)
    subprocess.run([*manage, "schedule_sweeper"], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    stack = Stack(BASE, env)
    gunicorn = [sys.executable, "-m", "gunicorn", "--log-level", "warning"]
    web_port = PORT + 10 if proxied else PORT
    stack.start(
        [*gunicorn, "classifier_site.wsgi", "--bind", f"127.0.0.1:{web_port}", "--workers", str(web_workers)]
        + ["--threads", str(threads)],
        quiet=False,
    )
    if proxied:
        events = f"127.0.0.1:{PORT + 11}"
        asgi = [*gunicorn, "classifier_site.asgi", "-k", "asgi", "--bind", events, "--workers", "1"]
        stack.events = stack.start([*asgi, "--worker-connections", "5000"], quiet=False, DB_POOL_MAX="10")
        config = proxy.write_config(
            Path(tempfile.mkdtemp(prefix="bench-nginx-")),
            f"127.0.0.1:{web_port}",
            events,
            f"127.0.0.1:{PORT}",
        )
        stack.start(proxy.command(config) or ["false"], quiet=False)
    for index in range(clusters):
        stack.start_cluster(index)
    # Long recordings' own worker, as `make run` starts it (classifier_site/queues.py).
    stack.start([*manage, "qcluster"], Q_CLUSTER_NAME=LONG_QUEUE)
    try:
        wait_for(_up, 30, "gunicorn did not start")
        yield stack
    finally:
        stack.stop()


@contextmanager
def platform(name: str, web_workers: int = 2, threads: int = 4, extra_env: dict | None = None):
    """running_stack with one qcluster; yields the base URL."""
    with running_stack(name, web_workers, threads, 1, extra_env) as stack:
        yield stack.base


@contextmanager
def s3_server(bucket: str):
    """moto's standalone S3 server on 127.0.0.1 with one bucket; yields the S3_* settings."""
    import boto3

    port = int(os.environ.get("BENCH_S3_PORT", "8766"))
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    settings = {
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "S3_ACCESS_KEY_ID": "bench",
        "S3_SECRET_ACCESS_KEY": "bench-secret",
        "S3_REGION": "us-east-1",
    }
    client = boto3.client(
        "s3",
        endpoint_url=settings["S3_ENDPOINT_URL"],
        aws_access_key_id="bench",
        aws_secret_access_key="bench-secret",
        region_name="us-east-1",
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.create_bucket(Bucket=bucket)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield settings
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def fill_history(owner, count: int) -> None:
    """`count` finished clips for `owner` (no audio stored), each with a classification and
    three segments: a history to read."""
    from classify.models import Classification, Clip, Segment

    probabilities = {"music": 0.7, "speech": 0.2, "noise": 0.1}
    clips = Clip.objects.bulk_create(
        Clip(
            owner=owner,
            original_filename=f"history{n}.wav",
            size_bytes=1,
            sha256="0",
            status="done",
            duration_s=9.0,
            file=f"clips/{owner.pk}/missing{n}.wav",
        )
        for n in range(count)
    )
    results = Classification.objects.bulk_create(
        Classification(
            clip=clip,
            model_version="bench",
            label="music",
            confidence=0.7,
            probabilities=probabilities,
            processing_s=0.1,
        )
        for clip in clips
    )
    Segment.objects.bulk_create(
        Segment(
            classification=result,
            index=i,
            start=3.0 * i,
            end=3.0 * (i + 1),
            label="music",
            probabilities=probabilities,
        )
        for result in results
        for i in range(3)
    )
    for clip, result in zip(clips, results):
        clip.result = result
    Clip.objects.bulk_update(clips, ["result"], batch_size=500)


def ten_second_clip(seed: int) -> bytes:
    """A WAV of a tone in light noise, different per seed: what the benches upload."""
    rng = np.random.default_rng(seed)
    t = np.arange(160_000) / 16_000
    tone = 0.2 * np.sin(2 * np.pi * rng.uniform(200, 600) * t) + 0.02 * rng.standard_normal(len(t))
    buffer = io.BytesIO()
    soundfile.write(buffer, tone.astype(np.float32), 16_000, format="WAV")
    return buffer.getvalue()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")
