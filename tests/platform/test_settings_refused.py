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
