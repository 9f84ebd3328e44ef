"""Limits hold for the whole site, not per process: two gunicorn workers, one shared cache and
one database, and still only UPLOAD_RATE uploads and LOGIN_FAILURE_LIMIT guesses get through."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.authtoken.models import Token

from classify.models import Clip
from tests.conftest import PASSWORD, ROOT, stop_process_group

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def two_web_workers(tmp_path, settings):
    """gunicorn with two worker processes on the test database, production settings."""
    url = urlunsplit(
        urlsplit(django_settings.DATABASE_URL)._replace(path="/" + connection.settings_dict["NAME"])
    )
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "classifier_site.settings",
        "DATABASE_URL": url,
        "SECRET_KEY": "two-web-workers-test-key-" + "abcdefghijklmnopqrstuvwxyz0123456789",
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        "UPLOAD_RATE": "3/hour",
        "LOGIN_FAILURE_LIMIT": "4",
        "CONN_MAX_AGE": "0",
    }
    log = tmp_path / "gunicorn.log"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "classifier_site.wsgi",
            "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--access-logfile", "-", "--access-logformat", "pid=%(p)s %(r)s %(s)s",
        ],
        cwd=ROOT, env=env, start_new_session=True, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:  # whatever happens while it starts, the server does not outlive the test
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/api/schema/", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.3)
        process.base_url, process.log_path = base, log
        yield process
    finally:
        stop_process_group(process)


def pids_that_answered(log: Path) -> set[str]:
    return set(re.findall(r"pid=<(\d+)>", log.read_text()))


def test_the_upload_limit_holds_across_two_web_processes(two_web_workers, alice, music_wav):
    token = Token.objects.create(user=alice).key
    statuses = []
    for _ in range(8):
        with music_wav.open("rb") as audio:
            response = requests.post(
                f"{two_web_workers.base_url}/api/clips/",
                headers={"Authorization": f"Token {token}", "Connection": "close"},
                files={"file": ("tune.wav", audio, "audio/wav")},
                timeout=30,
            )
        statuses.append(response.status_code)
    assert statuses == [201] * 3 + [429] * 5, statuses
    assert Clip.objects.filter(owner=alice).count() == 3
    assert len(pids_that_answered(two_web_workers.log_path)) == 2, "both workers must have answered"


def test_the_sign_in_lock_out_holds_across_two_web_processes(two_web_workers, alice):
    url = f"{two_web_workers.base_url}/api/auth/token/"
    for _ in range(4):
        requests.post(
            url, data={"username": "alice", "password": "guess"}, headers={"Connection": "close"}, timeout=10
        )
    right = [
        requests.post(
            url, data={"username": "alice", "password": PASSWORD}, headers={"Connection": "close"}, timeout=10
        )
        for _ in range(4)
    ]
    assert [r.status_code for r in right] == [429] * 4
    assert len(pids_that_answered(two_web_workers.log_path)) == 2
