"""tests/system: real processes, started and stopped by the tests: gunicorn, qcluster workers, Redis,
an S3 server, headless Chromium, the schema fuzzer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection

from classifier_site import proxy
from classifier_site.storage_settings import file_storage
from tests.conftest import ROOT, free_port
from tests.django_layer import (  # noqa: F401  (fixtures: autouse, and alice and bob)
    alice,
    alice_api,
    alice_browser,
    bob,
    bob_api,
    no_stray_database_sessions,
    private_media_root,
)


def test_database_url() -> str:
    """The configured database URL, pointed at the test database pytest-django created."""
    return urlunsplit(
        urlsplit(django_settings.DATABASE_URL)._replace(path="/" + connection.settings_dict["NAME"])
    )


@pytest.fixture
def start_process(tmp_path):
    """Start commands in their own process groups, logging to tmp_path/<name>.log; every one is
    stopped (group and all) when the test ends, whatever happened."""
    started: list[subprocess.Popen] = []

    def start(name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = tmp_path / f"{name}.log"
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        process.log_path = log
        started.append(process)
        return process

    yield start
    for process in started:
        stop_process_group(process)


def worker_env(settings, **extra: str) -> dict:
    """A worker's or web process's environment: the test database and the test's media folder."""
    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CLASSIFY_SYNC": "false",
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        **extra,
    }


@pytest.fixture
def qcluster(settings, start_process):
    """The clips' `manage.py qcluster` on the test database, and the live windows' one beside it
    (as `make run` starts them), stopped (and reaped) afterwards. Returns the clips' process."""
    settings.CLASSIFY_SYNC = False
    command = [sys.executable, str(ROOT / "manage.py"), "qcluster"]
    live = ["nice", "-n", str(settings.LIVE_NICENESS), *command]
    start_process("qcluster-live", live, worker_env(settings, Q_CLUSTER_NAME=settings.LIVE_QUEUE))
    long = ["nice", "-n", "5", *command]
    start_process("qcluster-long", long, worker_env(settings, Q_CLUSTER_NAME=settings.LONG_QUEUE))
    return start_process("qcluster", command, worker_env(settings))


def wait_until(predicate, timeout_s: float, what: str, every_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(every_s)


def start_web(start_process, env: dict, *args: str):
    """gunicorn with two worker processes on 127.0.0.1 (a free port), up once /healthz answers;
    the process carries its `base_url` and `log_path`."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "classifier_site.wsgi", "--bind", f"127.0.0.1:{port}"]
    process = start_process("web", [*command, "--workers", "2", *args], env)
    process.base_url = f"http://127.0.0.1:{port}"
    wait_until_healthy(process.base_url, 60, "gunicorn")
    return process


def start_events(start_process, env: dict):
    """The events server (gunicorn's ASGI worker, as classifier_site/run.py starts it) on
    127.0.0.1 (a free port), up once /healthz answers; carries its `base_url`."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "classifier_site.asgi",
        "-k",
        "asgi",
        "--bind",
        f"127.0.0.1:{port}",
    ]
    env = {**env, "DB_POOL_MAX": "10"}  # as classifier_site/run.py starts it
    process = start_process("events", [*command, "--workers", "1", "--worker-connections", "5000"], env)
    process.base_url = f"http://127.0.0.1:{port}"
    wait_until_healthy(process.base_url, 60, "the events server")
    return process


def start_proxy(start_process, tmp_path, upstream: str, listen: int, events: str | None = None) -> str:
    """nginx with deploy/nginx.conf in front of `upstream` (a base URL; event streams to `events`,
    else to `upstream` too), on 127.0.0.1:`listen`; returns its base URL once /healthz answers
    through it."""
    config = proxy.write_config(tmp_path / "nginx", upstream, events or upstream, f"127.0.0.1:{listen}")
    nginx = proxy.command(config)
    if nginx is None:
        pytest.fail("nginx is needed (Debian's nginx-light; .ci/run installs it)")
    start_process("nginx", nginx, dict(os.environ))
    base = f"http://127.0.0.1:{listen}"
    wait_until_healthy(base, 30, "nginx")
    return base


def wait_until_healthy(base_url: str, timeout_s: float, what: str) -> None:
    """Until `base_url`/healthz answers 200."""

    def up() -> bool:
        try:
            return requests.get(f"{base_url}/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    wait_until(up, timeout_s, what)


S3_KEYS = {"S3_ACCESS_KEY_ID": "test-key", "S3_SECRET_ACCESS_KEY": "test-secret", "S3_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """moto's standalone S3 server on 127.0.0.1: a real HTTP API that boto3 talks to."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        start_new_session=True,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    try:
        wait_until(answers, 30, "the S3 server")
        yield endpoint
    finally:
        stop_process_group(server)


@pytest.fixture
def s3_bucket(s3_endpoint, settings):
    """A new bucket, made the default storage for this test (and its env for processes)."""
    import uuid

    import boto3

    name = f"clips-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=S3_KEYS["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_KEYS["S3_SECRET_ACCESS_KEY"],
        region_name=S3_KEYS["S3_REGION"],
    )
    client.create_bucket(Bucket=name)
    env = {"S3_BUCKET": name, "S3_ENDPOINT_URL": s3_endpoint, **S3_KEYS}
    with patched_environ(env):
        settings.STORAGES = {**settings.STORAGES, "default": file_storage()}
    client.env = env
    client.name = name
    return client


@contextmanager
def patched_environ(values: dict):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def redis_url():
    """A Redis database of its own on the local server, emptied before and after."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
    connection_ = redis.Redis.from_url(url)
    try:
        connection_.ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis does not answer at {url} (.ci/run starts one)")
    connection_.flushdb()
    yield url
    connection_.flushdb()


def stop_process_group(process: subprocess.Popen, grace_s: float = 15) -> None:
    """SIGTERM the whole group (cluster, sentinel, workers), wait until every member is gone,
    SIGKILL what lingers: no worker may outlive its test and hold the test database."""

    def alive() -> bool:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    if alive():
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while alive() and time.monotonic() < deadline:
        process.poll()
        time.sleep(0.1)
    if alive():
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
