"""A stored clip is served only as audio: the type comes from the decoded format, never from the
uploader's file name, and the response forbids sniffing and scripts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import soundfile

from classify.models import Clip
from tests.audio_factory import chord
from tests.django_layer import as_upload

pytestmark = pytest.mark.django_db

SCRIPT = b"<script>document.title='pwned';window.pwned=1</script>"


def polyglot_wav() -> bytes:
    """A valid WAV whose bytes also carry an HTML script, in a chunk players skip."""
    buffer = io.BytesIO()
    soundfile.write(buffer, chord(2.0), 16_000, format="WAV")
    wav = buffer.getvalue()
    chunk = b"LIST" + len(SCRIPT).to_bytes(4, "little") + SCRIPT
    body = wav[12:] + chunk
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WAVE" + body


@pytest.fixture
def polyglot_clip(alice, tmp_path):
    from classify.clips import intake

    path = tmp_path / "poly.html"
    path.write_bytes(polyglot_wav())
    return intake.create_clip(alice, as_upload(path, content_type="text/html"))


def test_a_polyglot_named_html_is_served_as_audio_that_cannot_run_scripts(alice_browser, polyglot_clip):
    response = alice_browser.get(f"/clips/{polyglot_clip.pk}/audio/")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "script-src" not in policy
    assert 'filename="poly.wav"' in response["Content-Disposition"]
    assert SCRIPT in b"".join(response.streaming_content)  # the bytes are kept as they were


def test_ranges_carry_the_same_protections(alice_browser, polyglot_clip):
    response = alice_browser.get(f"/clips/{polyglot_clip.pk}/audio/", HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206
    assert response["Content-Type"] == "audio/wav" and response["X-Content-Type-Options"] == "nosniff"


def test_a_stored_file_with_an_unknown_suffix_is_only_ever_downloaded(
    alice, alice_browser, music_wav, settings
):
    from classify.clips import intake

    clip = intake.create_clip(alice, as_upload(music_wav))
    # An upload from before this release kept the uploader's suffix.
    renamed = clip.file.name.rsplit(".", 1)[0] + ".html"
    Path(clip.file.path).rename(Path(settings.MEDIA_ROOT) / renamed)
    Clip.objects.filter(pk=clip.pk).update(file=renamed)
    response = alice_browser.get(f"/clips/{clip.pk}/audio/")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


def test_an_absurdly_long_range_is_unsatisfiable_not_missing(alice_browser, polyglot_clip):
    response = alice_browser.get(f"/clips/{polyglot_clip.pk}/audio/", HTTP_RANGE="bytes=" + "9" * 5000 + "-")
    assert response.status_code == 416 and response["Content-Range"].startswith("bytes */")
