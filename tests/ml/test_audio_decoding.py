"""ml.audio: every format users send decodes to 16 kHz mono; every bad input gets a typed error."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from ml.audio import SAMPLE_RATE, AudioDecodeError, decode
from tests.audio_factory import chord, write

FORMATS = [".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".webm"]


@pytest.mark.parametrize("suffix", FORMATS)
def test_it_decodes_every_listed_format_to_16k_mono(tmp_path, suffix):
    path = write(tmp_path / f"clip{suffix}", chord(2.0, rate=44_100), rate=44_100)
    audio = decode(path)
    assert audio.sample_rate == SAMPLE_RATE
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.duration_s == pytest.approx(2.0, abs=0.1)
    assert audio.original_sample_rate in (44_100, 48_000)  # opus always runs at 48 kHz


def test_it_downmixes_stereo_and_reports_the_original_layout(tmp_path):
    stereo = np.stack([chord(1.0, rate=22_050), chord(1.0, rate=22_050, seed=1)], axis=1)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, stereo, 22_050)
    audio = decode(path)
    assert (audio.channels, audio.original_sample_rate) == (2, 22_050)
    assert len(audio.samples) == pytest.approx(SAMPLE_RATE, abs=2)


def test_it_refuses_an_empty_file(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioDecodeError, match="empty"):
        decode(tmp_path / "empty.wav")


@pytest.mark.parametrize(
    "name, content",
    [
        ("notes.wav", b"this is a shopping list, not a recording\n" * 20),
        ("photo.mp3", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8),
        ("random.flac", np.random.default_rng(0).bytes(4096)),
    ],
)
def test_it_refuses_files_that_are_not_audio(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(AudioDecodeError, match="not an audio file|corrupt"):
        decode(tmp_path / name)


def test_it_refuses_a_truncated_file(tmp_path):
    path = write(tmp_path / "cut.wav", chord(6.0))
    data = path.read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 3])
    with pytest.raises(AudioDecodeError, match="truncated"):
        decode(tmp_path / "cut.wav")


def test_it_refuses_a_truncated_mp3(tmp_path):
    path = write(tmp_path / "cut.mp3", chord(20.0))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 4])
    with pytest.raises(AudioDecodeError, match="truncated"):
        decode(path)


def test_it_refuses_silence(tmp_path):
    path = write(tmp_path / "silence.wav", np.zeros(SAMPLE_RATE * 2, dtype=np.float32))
    with pytest.raises(AudioDecodeError, match="silent"):
        decode(path)


@pytest.mark.parametrize("suffix", [".wav", ".m4a"])
def test_it_refuses_a_recording_over_the_limit(tmp_path, suffix):
    path = write(tmp_path / f"long{suffix}", chord(12.0))
    with pytest.raises(AudioDecodeError, match="too long"):
        decode(path, max_duration_s=10)


def test_it_refuses_a_recording_too_short_to_classify(tmp_path):
    path = write(tmp_path / "blip.wav", chord(0.1))
    with pytest.raises(AudioDecodeError, match="too short"):
        decode(path)


def test_it_refuses_a_header_with_absurd_channel_counts(tmp_path):
    path = tmp_path / "wide.wav"
    soundfile.write(path, np.zeros((1600, 40), dtype=np.float32) + 0.1, 16_000)
    with pytest.raises(AudioDecodeError, match="channels"):
        decode(path)


def test_a_many_channel_high_rate_file_decodes_in_bounded_memory(tmp_path):
    """The upload decode bomb (issue: 8 channels at 384 kHz in a small FLAC): decoding goes block by
    block, resampled to 16 kHz mono as it comes, so memory follows the 16 kHz result. 40 s of it
    would need about 490 MB held whole at its own rate; the decoding process stays far below."""
    import subprocess
    import sys

    import soundfile

    path = tmp_path / "bomb.flac"
    rate, seconds, block = 384_000, 40, 384_000
    with soundfile.SoundFile(str(path), "w", rate, 8, format="FLAC") as out:
        for second in range(seconds):
            t = (np.arange(block) + second * block) / rate
            out.write(np.repeat((0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None], 8, axis=1))
    # VmHWM (this process's own peak; ru_maxrss would keep the forking parent's across exec).
    code = (
        "import re; from ml.audio import decode; "
        f"audio = decode({str(path)!r}); "
        "peak_kb = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]); "
        "print(round(audio.duration_s), peak_kb // 1024)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    duration_s, peak_mb = map(int, done.stdout.split())
    assert duration_s == seconds and peak_mb < 200, done.stdout


@pytest.mark.parametrize("suffix", [".ogg", ".opus"])
def test_it_refuses_an_ogg_file_cut_short_and_keeps_a_whole_one(tmp_path, suffix):
    """A cut Ogg decodes up to its last whole page and reports that length as if it were all:
    the missing end-of-stream page is what gives it away, at upload and in the worker alike."""
    from ml.audio import verify

    whole = write(tmp_path / f"whole{suffix}", chord(6.0))
    assert decode(whole).duration_s == pytest.approx(6.0, abs=0.1) and verify(whole).duration_s > 5.9
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    for check in (decode, verify):
        with pytest.raises(AudioDecodeError, match="truncated"):
            check(cut)


def test_a_decoder_that_stalls_is_stopped_with_a_message_but_a_slow_reader_is_not(monkeypatch, tmp_path):
    """The watchdog times ffmpeg's reads, not what the caller does between blocks."""
    import time

    from ml import audio

    monkeypatch.setattr(audio, "FFMPEG_STALL_S", 1)
    monkeypatch.setattr(audio, "_ffmpeg_command", lambda path, limit: ["sleep", "30"])  # says nothing
    started = time.monotonic()
    with pytest.raises(AudioDecodeError, match="took too long"):
        list(audio._ffmpeg_blocks(tmp_path / "any.webm", 60))
    assert time.monotonic() - started < 5

    raw = tmp_path / "raw.f32"
    np.zeros(4 * SAMPLE_RATE, "<f4").tofile(raw)  # four seconds: a block, then the end
    monkeypatch.setattr(audio, "_ffmpeg_command", lambda path, limit: ["cat", str(path)])
    blocks = []
    for block in audio._ffmpeg_blocks(raw, 60):
        blocks.append(block)
        time.sleep(2.5)  # a caller busier than the stall limit between blocks
    assert sum(len(b) for b in blocks) == 4 * SAMPLE_RATE
