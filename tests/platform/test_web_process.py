"""The web process starts without TensorFlow: only workers pay for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_loading_the_web_application_does_not_import_tensorflow():
    code = (
        "import sys; from classifier_site.wsgi import application; "
        "from django.urls import resolve; resolve('/'); resolve('/api/clips/'); "
        "import classify.web.views, classify.api.views, classify.admin; "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["False", "False"]
