"""A throw-away platform on 127.0.0.1 for the benchmarks: a scratch database, gunicorn and
django-q2 workers with production settings, stopped (process groups and all) on exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8765"))
BASE = f"http://127.0.0.1:{PORT}"


def scratch_database_url(suffix: str) -> str:
    """A fresh `<db>_<suffix>` next to the configured database."""
    parts = urlsplit(os.environ["DATABASE_URL"])
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


@contextmanager
def platform(name: str, web_workers: int = 2, threads: int = 4, extra_env: dict | None = None):
    """Migrate a scratch database, set up Django in this process (to make users and tokens),
    start gunicorn and one qcluster; yield the base URL."""
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
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    web = [sys.executable, "-m", "gunicorn", "classifier_site.wsgi", "--bind", f"127.0.0.1:{PORT}"]
    web += ["--workers", str(web_workers), "--threads", str(threads), "--log-level", "warning"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    children = [
        subprocess.Popen(web, env=env, cwd=ROOT, start_new_session=True),
        subprocess.Popen([*manage, "qcluster"], env=env, cwd=ROOT, start_new_session=True, **quiet),
    ]
    try:
        wait_for(_up, 30, "gunicorn did not start")
        yield BASE
    finally:
        for child in children:
            os.killpg(child.pid, signal.SIGINT)  # SIGTERM to a qcluster's group can hang it
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
