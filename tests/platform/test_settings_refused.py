"""A malformed setting stops the start with a sentence naming it, not a 500 on first use."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def settings_load_with(**values: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **values}
    code = "import django; django.setup()"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        (
            "UPLOAD_RATE",
            "lots",
            'UPLOAD_RATE must be a count per second, minute, hour or day such as "120/hour"',
        ),
        ("CORRECTION_RATE", "60/fortnight", "CORRECTION_RATE must be a count per second"),
        ("TRAINING_HELD_OUT_USERS", "most", "TRAINING_HELD_OUT_USERS must be a fraction from 0 to 1"),
        ("TRAINING_HELD_OUT_USERS", "1.5", "TRAINING_HELD_OUT_USERS must be a fraction from 0 to 1"),
        ("LOG_LEVEL", "chatty", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("CLASSIFY_MAX_ATTEMPTS", "0", "CLASSIFY_MAX_ATTEMPTS must be at least 1"),
        ("Q_WORKERS", "two", "Q_WORKERS must be a whole number"),
    ],
)
def test_a_bad_value_stops_the_start_with_its_name(name, value, says):
    result = settings_load_with(**{name: value})
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr and says in result.stderr


def test_good_values_start():
    assert (
        settings_load_with(
            UPLOAD_RATE="5/second", TRAINING_HELD_OUT_USERS="0.5", LOG_LEVEL="DEBUG"
        ).returncode
        == 0
    )


def test_every_folder_the_platform_writes_follows_var_dir(tmp_path):
    """Issue 27: RESUMABLE_DIR stayed in the checkout's var/ when VAR_DIR pointed elsewhere."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "classifier_site.settings", "VAR_DIR": str(tmp_path)}
    env.update(SECRET_KEY="a-test-key-with-plenty-of-different-characters-0123456789", DEBUG="false")
    for name in ("RESUMABLE_DIR", "STATIC_ROOT", "MEDIA_ROOT", "FILE_UPLOAD_TEMP_DIR", "MODEL_CACHE_DIR"):
        env.pop(name, None)
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print('\\n'.join(str(getattr(s, n)) for n in "
        "('RESUMABLE_DIR', 'STATIC_ROOT', 'MEDIA_ROOT', 'FILE_UPLOAD_TEMP_DIR', 'MODEL_CACHE_DIR')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert all(line.startswith(str(tmp_path)) for line in done.stdout.split()), done.stdout
