"""tests/ml is the plain-Python layer: its modules and the fixtures they share import no Django, so
the library's tests run where no web stack is installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_the_ml_tests_and_their_shared_fixtures_import_no_django():
    modules = ["tests.conftest", "tests.audio_factory"] + [
        f"tests.ml.{path.stem}" for path in sorted(Path(__file__).parent.glob("*.py"))
    ]
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework'))\n"
        "print(','.join(loaded))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "", f"tests/ml pulled in: {run.stdout.strip()}"
