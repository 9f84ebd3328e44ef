"""The web process starts without TensorFlow: only workers pay for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("server", ["wsgi", "asgi"])
def test_loading_the_web_application_does_not_import_tensorflow(server):
    code = (
        f"import sys; from classifier_site.{server} import application; "
        "from django.urls import resolve; resolve('/'); resolve('/api/clips/'); resolve('/api/clips/events/'); "
        "import classify.web.views, classify.api.views, classify.api.events, classify.admin; "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["False", "False"]
