"""Fixtures every layer shares: audio made in code, the fixtures folder. Plain Python: tests/ml
imports no Django (alice and bob live in tests/django_layer.py).

Each layer has its own conftest: tests/ml (no database), tests/platform (Django in process,
PostgreSQL), tests/system (real processes: gunicorn, qcluster, Redis, S3, Chromium, fuzzing)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.audio_factory import chord, white_noise, write

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def tiny_corpus(tmp_path) -> Path:
    """A MUSAN-layout corpus: 4 sources per class, 2 files each."""
    for label, make in (("music", chord), ("speech", chord), ("noise", white_noise)):
        for s in range(4):
            folder = tmp_path / label / f"{label}-source{s}"
            folder.mkdir(parents=True)
            for f in range(2):
                write(folder / f"file{f}.flac", make(1.0, seed=s * 10 + f))
    return tmp_path


@pytest.fixture
def music_wav(tmp_path):
    return write(tmp_path / "tune.wav", chord(6.0))


@pytest.fixture
def noise_flac(tmp_path):
    return write(tmp_path / "hiss.flac", white_noise(5.0))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
