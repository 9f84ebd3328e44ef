"""`python -m ml.classify --json`: the exact line shape outside checks rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.audio_factory import chord, write

ROOT = Path(__file__).resolve().parents[2]


def test_json_lines_have_the_exact_shape_and_errors_do_not_stop_the_run(tmp_path):
    good = write(tmp_path / "tune.ogg", chord(7.0))
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    also_good = write(tmp_path / "short.mp3", chord(1.5))
    completed = subprocess.run(
        [sys.executable, "-m", "ml.classify", str(good), str(bad), str(also_good), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 1  # one file failed
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    assert len(lines) == 3
    first, error, last = lines
    assert set(first) == {
        "path",
        "label",
        "confidence",
        "uncertain",
        "probabilities",
        "duration_s",
        "model_version",
        "segments",
        "tracks",
    }
    assert set(first["tracks"]) == {"speech", "music"}
    assert all(set(span) >= {"start", "end"} for lane in first["tracks"].values() for span in lane)
    assert isinstance(first["uncertain"], bool)
    assert set(first["probabilities"]) == {"music", "speech", "noise"}
    assert first["duration_s"] == 7.0 and first["segments"][-1]["end"] == 7.0
    assert set(first["segments"][0]) == {
        "start",
        "end",
        "label",
        "probabilities",
        "uncertain",
        "family",
        "tags",
    }
    assert error == {"path": str(bad), "error": "This is not an audio file we can read."}
    assert last["path"] == str(also_good) and len(last["segments"]) == 1


def test_plain_output_is_one_readable_line_per_file(tmp_path):
    good = write(tmp_path / "tune.wav", chord(4.0))
    completed = subprocess.run(
        [sys.executable, "-m", "ml.classify", str(good)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0
    assert completed.stdout.startswith(f"{good}: ") and " s [" in completed.stdout
