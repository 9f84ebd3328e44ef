"""Everything an upload can know is refused at upload: a 400 with the reason, and nothing stored
(no row, no file), whether through the API or the HTML form."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from django.conf import settings

from classify.models import Clip
from tests.audio_factory import chord, write
from tests.django_layer import as_upload

pytestmark = pytest.mark.django_db


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def cut(path: Path, fraction: float = 1 / 3) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def truncated_flac(tmp_path):
    return cut(write(tmp_path / "cut.flac", chord(20.0)))


def truncated_mp3(tmp_path):
    return cut(write(tmp_path / "cut.mp3", chord(20.0)))


def truncated_wav(tmp_path):
    return cut(write(tmp_path / "cut.wav", chord(20.0)))


def silent_wav(tmp_path):
    path = tmp_path / "silent.wav"
    soundfile.write(path, np.zeros(3 * 16_000, np.float32), 16_000)
    return path


def tenth_of_a_second(tmp_path):
    return write(tmp_path / "blip.wav", chord(0.1))


def headerless_long_webm(tmp_path):
    """A WebM streamed as browsers record it: no duration in its header (limit set to 5 s)."""
    source = write(tmp_path / "long.wav", chord(12.0))
    path = tmp_path / "stream.webm"
    with path.open("wb") as out:
        subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(source), "-c:a", "libopus", "-f", "webm", "-"],
            stdout=out,
            check=True,
        )
    return path


def not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_bytes(b"a shopping list, not a recording\n" * 40)
    return path


REFUSED = {
    "truncated flac": (truncated_flac, "corrupt|truncated"),
    "truncated mp3": (truncated_mp3, "truncated"),
    "truncated wav": (truncated_wav, "truncated"),
    "silent wav": (silent_wav, "silent"),
    "0.1 s wav": (tenth_of_a_second, "too short"),
    "webm longer than the limit, no duration in its header": (
        headerless_long_webm,
        "too long: the limit is 5 s",
    ),
    "not audio": (not_audio, "not an audio file|corrupt"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_the_api_refuses_at_upload_with_the_reason_and_stores_nothing(alice_api, tmp_path, settings, case):
    settings.UPLOAD_MAX_DURATION_S = 5 if "webm" in case else 1800
    make, reason = REFUSED[case]
    response = alice_api.post("/api/clips/", {"file": as_upload(make(tmp_path))}, format="multipart")
    assert response.status_code == 400, response.content
    import re

    assert re.search(reason, response.json()["file"][0]), response.json()
    assert not Clip.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize("case", ["truncated mp3", "silent wav", "0.1 s wav"])
def test_the_upload_form_refuses_the_same_files_the_same_way(alice_browser, tmp_path, case):
    make, reason = REFUSED[case]
    response = alice_browser.post("/clips/upload/", {"files": [as_upload(make(tmp_path))]})
    assert response.status_code == 400
    assert reason.split("|")[0].encode() in response.content
    assert not Clip.objects.exists() and stored_files() == []


def raw_multipart(path: Path, name: str) -> tuple[bytes, str]:
    """A multipart body built by hand, so the file name is exactly what a hostile client sends."""
    boundary = "----hostile-boundary-7d9"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode("utf-8", "surrogateescape")
    body = head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    "name", [".", "..", "/", "a\x00b.wav", "../../etc/passwd", "\x1b[2J.wav", "C:\\x\\song.wav"]
)
def test_odd_file_names_are_stored_under_a_safe_name_and_shown_harmlessly(alice_api, music_wav, name):
    body, content_type = raw_multipart(music_wav, name)
    response = alice_api.generic("POST", "/api/clips/", body, content_type)
    assert response.status_code in (201, 400), response.content
    assert "header size" not in response.content.decode()
    if response.status_code == 201:
        clip = Clip.objects.get()
        assert not any(ord(c) < 32 for c in clip.original_filename)
        assert clip.original_filename not in ("", ".", "..") and "/" not in clip.original_filename
        assert Path(clip.file.name).suffix == ".wav" and Path(clip.file.path).is_file()


def test_the_stored_name_takes_its_extension_from_the_decoded_format(alice_api, music_wav):
    response = alice_api.post(
        "/api/clips/", {"file": as_upload(music_wav, name="poly.html")}, format="multipart"
    )
    assert response.status_code == 201
    clip = Clip.objects.get()
    assert clip.original_filename == "poly.html"
    assert Path(clip.file.name).suffix == ".wav"


def test_a_clip_that_fails_in_the_worker_loses_its_file_after_the_retention(alice, music_wav, settings):
    from datetime import timedelta

    from django.utils import timezone

    from classify.clips import intake, removal, state

    clip = intake.create_clip(alice, as_upload(music_wav))
    state.fail(clip.pk, "The worker gave up.")
    stored = Path(clip.file.path)
    assert removal.purge_failed_files() == [] and stored.exists()  # within the retention
    later = timezone.now() + timedelta(seconds=settings.FAILED_CLIP_RETENTION_S + 1)
    assert removal.purge_failed_files(now=later) == [clip.pk]
    clip.refresh_from_db()
    assert not stored.exists() and clip.file.name == ""
    assert clip.status == Clip.Status.FAILED and clip.error == "The worker gave up."


def test_a_small_file_with_too_much_audio_to_decode_is_refused_by_its_header(alice_api, settings, tmp_path):
    """Issue 27: a 4.6 MB FLAC of 6 h x 8 channels x 384 kHz passed every limit (files, bytes,
    length) and held a web thread 572 s. The budget counts samples to decode, read from the
    header: a file over it is refused before any decoding."""
    import time

    settings.UPLOAD_MAX_SAMPLES = 1_000_000
    rate, seconds = 96_000, 4.0  # 8 channels: 3 million samples to decode, in a small FLAC
    quiet = np.zeros((int(rate * seconds), 8), np.float32)
    quiet[::1000] = 0.1
    path = tmp_path / "many-channels.flac"
    soundfile.write(path, quiet, rate)
    started = time.monotonic()
    response = alice_api.post(
        "/api/clips/", {"file": as_upload(path, content_type="audio/flac")}, format="multipart"
    )
    assert response.status_code == 400, response.content
    said = response.json()["file"][0]
    assert "8 channels at 96000 Hz" in said and "more audio to decode than we accept" in said
    assert time.monotonic() - started < 5 and not Clip.objects.exists() and stored_files() == []
    ordinary = write(tmp_path / "tune.wav", chord(4.0))  # 64,000 samples: well within
    assert alice_api.post("/api/clips/", {"file": as_upload(ordinary)}, format="multipart").status_code == 201


def test_each_user_has_an_hourly_budget_of_audio_to_decode(alice_api, bob_api, settings, tmp_path):
    """Issue 27, item 3: limits counted files, not the decoding they cost. A user's uploads now
    spend an hourly budget of decoded audio (read from each header); over it, 429 with when."""
    settings.UPLOAD_DECODE_RATE = "3/hour"  # three minutes of 48 kHz stereo
    minute = write(tmp_path / "minute.wav", np.tile(chord(4.0), 15))  # 60 s of 16 kHz mono: one unit
    for _ in range(3):
        assert (
            alice_api.post("/api/clips/", {"file": as_upload(minute)}, format="multipart").status_code == 201
        )
    over = alice_api.post("/api/clips/", {"file": as_upload(minute)}, format="multipart")
    assert over.status_code == 429 and "Too much audio to decode this hour" in over.json()["detail"]
    assert int(over["Retry-After"]) > 0 and Clip.objects.count() == 3
    assert bob_api.post("/api/clips/", {"file": as_upload(minute)}, format="multipart").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_long_recording_is_accepted_on_its_start_and_checked_whole_by_the_worker(alice, settings, tmp_path):
    """Issue 27, items 3 and 9: six hours were decoded whole in the web request (minutes; behind
    nginx, a 504 and no clip id). Past UPLOAD_WHOLE_CHECK_S only the header and the start are
    checked at upload; the worker's decoding applies the same checks to the rest and fails the
    clip with the same message."""
    from classify.clips import intake
    from tests.django_layer import process_clip

    settings.CLASSIFY_SYNC = False
    whole = write(tmp_path / "long.wav", np.tile(chord(4.0), 15))  # its header says 60 s
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])  # 20 s of it are there
    with pytest.raises(intake.UploadRejected, match="truncated"):
        intake.create_clip(alice, as_upload(truncated))  # whole files up to ten minutes
    settings.UPLOAD_WHOLE_CHECK_S = 10
    clip = intake.create_clip(alice, as_upload(truncated))
    assert clip.duration_s == pytest.approx(60.0, abs=0.1)  # the header's, until it is decoded
    outcome = process_clip(clip.pk)
    clip.refresh_from_db()
    assert (outcome.status, clip.status) == ("failed", "failed")
    assert "The file is truncated: it promises 60.0 s of audio" in clip.error
