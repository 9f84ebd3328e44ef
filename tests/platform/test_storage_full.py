"""A full disk: the upload is refused with a message (507 in the API), nothing partial stays."""

from __future__ import annotations

import subprocess

import pytest

from classify.models import Clip
from tests.audio_factory import chord, write
from tests.conftest import as_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny_media_root(settings, tmp_path):
    """MEDIA_ROOT on a 256 kB filesystem of its own (tmpfs; the tests run as root here and in CI)."""
    root = tmp_path / "tiny"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(root)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a small filesystem: {mounted.stderr.decode().strip()}")
    settings.MEDIA_ROOT = str(root)
    yield root
    subprocess.run(["umount", str(root)], check=True)


def test_an_upload_to_a_full_disk_is_refused_with_507_and_leaves_nothing(
    alice_api, tiny_media_root, tmp_path
):
    big = write(tmp_path / "long.wav", chord(20.0))  # 640 kB of WAV: more than the disk holds
    response = alice_api.post("/api/clips/", {"file": as_upload(big)}, format="multipart")
    assert response.status_code == 507 and "no room to keep your file" in response.json()["detail"]
    assert not Clip.objects.exists()
    assert [p for p in tiny_media_root.rglob("*") if p.is_file()] == []

    small = write(tmp_path / "short.wav", chord(2.0))  # 64 kB: fits, and the service goes on
    assert alice_api.post("/api/clips/", {"file": as_upload(small)}, format="multipart").status_code == 201
