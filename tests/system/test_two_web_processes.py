"""Limits hold for the whole site, not per process: two gunicorn workers, one shared cache and
one database, and still only UPLOAD_RATE uploads and LOGIN_FAILURE_LIMIT guesses get through."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from rest_framework.authtoken.models import Token

from classify.models import Clip
from tests.django_layer import PASSWORD
from tests.system.conftest import start_web, worker_env

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_web_workers(settings, start_process):
    """gunicorn with two worker processes on the test database, production settings."""
    env = {
        **worker_env(settings),
        "DJANGO_SETTINGS_MODULE": "classifier_site.settings",
        "SECRET_KEY": "two-web-workers-test-key-" + "abcdefghijklmnopqrstuvwxyz0123456789",
        "UPLOAD_RATE": "3/hour",
        "LOGIN_FAILURE_LIMIT": "4",
        "CONN_MAX_AGE": "0",
    }
    return start_web(
        start_process, env, "--access-logfile", "-", "--access-logformat", "pid=%(p)s %(r)s %(s)s"
    )


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

    def sign_in_right(_):
        return requests.post(
            url, data={"username": "alice", "password": PASSWORD}, headers={"Connection": "close"}, timeout=10
        )

    # At once, so both workers take some (one after another, the kernel may hand them all to one).
    with ThreadPoolExecutor(4) as pool:
        right = list(pool.map(sign_in_right, range(4)))
    assert [r.status_code for r in right] == [429] * 4
    assert len(pids_that_answered(two_web_workers.log_path)) == 2
