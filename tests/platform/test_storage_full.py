"""A full disk: the upload is refused with a message (507 in the API), nothing partial stays."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager

import pytest

from classify.models import Clip
from tests.audio_factory import chord, write
from tests.django_layer import as_upload

pytestmark = pytest.mark.django_db


@contextmanager
def tiny_filesystem(root):
    """A 256 kB filesystem of its own at `root` (tmpfs: mounting needs root, which CI has)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (CI runs as root)")
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(root)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a small filesystem: {mounted.stderr.decode().strip()}")
    try:
        yield root
    finally:
        subprocess.run(["umount", str(root)], check=True)


@pytest.fixture
def tiny_media_root(settings, tmp_path):
    """MEDIA_ROOT on a 256 kB filesystem."""
    with tiny_filesystem(tmp_path / "tiny") as root:
        settings.MEDIA_ROOT = str(root)
        yield root


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


def test_orphaned_files_and_abandoned_temporary_uploads_are_swept(alice, music_wav, settings, tmp_path):
    import os
    import time

    from classify.clips import intake, removal

    kept = intake.create_clip(alice, as_upload(music_wav))
    media = tmp_path / "media"
    orphan = media / "clips" / str(alice.pk) / "half-written.wav"
    orphan.write_bytes(b"RIFF....")
    fresh_orphan = media / "clips" / str(alice.pk) / "being-written.wav"
    fresh_orphan.write_bytes(b"RIFF....")
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "upload-tmp")
    (tmp_path / "upload-tmp").mkdir()
    abandoned = tmp_path / "upload-tmp" / "tmpabc123.upload.wav"
    abandoned.write_bytes(b"x" * 100)
    two_hours_ago = time.time() - 7200
    for path in (orphan, abandoned, media / kept.file.name):
        os.utime(path, (two_hours_ago, two_hours_ago))

    would = removal.remove_orphans(dry_run=True)
    assert would == {"stored": [f"clips/{alice.pk}/half-written.wav"], "temporary": [str(abandoned)]}
    assert orphan.exists() and abandoned.exists()
    removal.remove_orphans()
    assert not orphan.exists() and not abandoned.exists()
    assert fresh_orphan.exists() and (media / kept.file.name).exists()  # young, or a clip's own


@pytest.fixture
def tiny_resumable_dir(settings, tmp_path):
    """RESUMABLE_DIR on a 256 kB filesystem."""
    with tiny_filesystem(tmp_path / "tiny-parts") as root:
        settings.RESUMABLE_DIR = root
        yield root


def test_a_part_that_fills_the_disk_is_answered_507_and_keeps_what_fitted(
    alice_api, tiny_resumable_dir, tmp_path, settings
):
    """Issue 27: a full disk during a part answered 204 (logged at INFO), and the client took the
    upload as going well."""
    import base64

    # The disk had room when the upload began; something else has taken it since (a new upload
    # that does not fit is refused at once: test_resumable_uploads.py).
    settings.RESUMABLE_FREE_FLOOR_BYTES = -(10**9)

    data = write(tmp_path / "long.wav", chord(20.0)).read_bytes()  # 640 kB: more than the disk holds
    tus = {"HTTP_TUS_RESUMABLE": "1.0.0"}
    created = alice_api.post(
        "/api/uploads/",
        HTTP_UPLOAD_LENGTH=str(len(data)),
        HTTP_UPLOAD_METADATA="filename " + base64.b64encode(b"long.wav").decode(),
        **tus,
    )
    location = created["Location"]
    part = alice_api.generic(
        "PATCH", location, data, content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="0", **tus
    )
    assert part.status_code == 507 and "no room for the rest of your file" in part.json()["detail"], (
        part.json()
    )
    kept = int(alice_api.head(location, **tus)["Upload-Offset"])
    assert 0 < kept < len(data)
