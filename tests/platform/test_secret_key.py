"""Production refuses to start with a guessable SECRET_KEY (Django only warns)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def check_with(secret_key: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "classifier_site.settings",
        "SECRET_KEY": secret_key,
        "DEBUG": "false",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("key", ["x" * 58, "short", "django-insecure-" + "abcdefghij" * 5])
def test_a_weak_secret_key_stops_the_start(key):
    result = check_with(key)
    assert result.returncode != 0 and "SECRET_KEY is too weak" in result.stderr


def test_a_strong_secret_key_starts():
    assert check_with("Zq3-" + "k9Xv_pL2mN8rT4wY6" * 3).returncode == 0
