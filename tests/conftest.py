"""Fixtures every layer shares: alice and bob, whose clips must never mix; audio made in code.

Each layer has its own conftest: tests/ml (no database), tests/platform (Django in process,
PostgreSQL), tests/system (real processes: gunicorn, qcluster, Redis, S3, Chromium, fuzzing)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.audio_factory import chord, white_noise, write

PASSWORD = "a-Long-and-unusual-passw0rd"
ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.fixture
def alice_browser(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def alice_api(alice):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    return api


@pytest.fixture
def bob_api(bob):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=bob).key}")
    return api


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


def as_upload(path, name: str | None = None, content_type: str = "audio/wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type=content_type)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
