"""Decode any audio file into 16 kHz mono float32, or refuse it with a reason a person can read.

soundfile (libsndfile) reads wav, flac, ogg/vorbis, opus and mp3 in-process; ffmpeg handles the rest
(m4a/aac, webm from browsers' MediaRecorder, ...). Length is checked from the header before the
whole file is decoded wherever the container says it, so a huge upload costs nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr

SAMPLE_RATE = 16_000
DEFAULT_MAX_DURATION_S = 6 * 3600  # what ml/streaming.py classifies in flat memory
MIN_DURATION_S = 0.25
# A peak below -80 dBFS is digital silence: nothing to classify.
SILENCE_PEAK = 1e-4
# A decoded length this far below what the header promised means the file was cut short.
TRUNCATION_TOLERANCE = 0.9
FFMPEG_TIMEOUT_S = 120
# Beyond these a header is hostile or broken: decoding it could need gigabytes.
MAX_CHANNELS = 32
MAX_SAMPLE_RATE = 384_000
_CUT_CHUNK = re.compile(r"^data\s*:\s*(?P<claimed>\d+)\s*\(should be (?P<actual>\d+)\)", re.MULTILINE)


class AudioDecodeError(Exception):
    """Audio we cannot use; the message is written for the person who uploaded it."""


@dataclass(frozen=True)
class AudioInfo:
    """What the container says before decoding: duration may be None when it does not say.
    `format` is the container we found ("wav", "flac", "ogg", "opus", "mp3", "webm", "m4a", or
    ffprobe's name): it, never the uploader's file name, picks the stored name and served type."""

    duration_s: float | None
    sample_rate: int
    channels: int
    format: str = ""


# Container -> (stored suffix, media type). Anything else is served as a download.
AUDIO_TYPES = {
    "wav": (".wav", "audio/wav"),
    "flac": (".flac", "audio/flac"),
    "ogg": (".ogg", "audio/ogg"),
    "opus": (".opus", "audio/ogg"),
    "mp3": (".mp3", "audio/mpeg"),
    "webm": (".webm", "audio/webm"),
    "m4a": (".m4a", "audio/mp4"),
    "aiff": (".aiff", "audio/aiff"),
}
_FFPROBE_FORMATS = {"matroska": "webm", "webm": "webm", "mov": "m4a", "mp4": "m4a", "m4a": "m4a"}
_SOUNDFILE_FORMATS = {
    "WAV": "wav",
    "WAVEX": "wav",
    "FLAC": "flac",
    "MP3": "mp3",
    "AIFF": "aiff",
    "OGG": "ogg",
}


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # float32, mono, at SAMPLE_RATE
    duration_s: float
    original_sample_rate: int
    channels: int

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE


def _refuse_if_empty(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError:
        raise AudioDecodeError("The file could not be found or opened.") from None
    if size == 0:
        raise AudioDecodeError("The file is empty.")


def decode(path: str | Path, max_duration_s: float = DEFAULT_MAX_DURATION_S) -> DecodedAudio:
    """Read `path` as 16 kHz mono float32; raise AudioDecodeError for anything unusable."""
    stream = open_stream(path, max_duration_s)
    checks = StreamChecks(stream.info, max_duration_s)
    pieces = list(checks.passing(stream.blocks))
    duration_s = checks.finish()
    samples = np.concatenate(pieces).astype(np.float32, copy=False) if pieces else np.zeros(0, np.float32)
    return DecodedAudio(
        samples=samples,
        duration_s=duration_s,
        original_sample_rate=stream.info.sample_rate,
        channels=stream.info.channels,
    )


def verify(
    path: str | Path,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
    max_samples: float | None = None,
    whole_up_to_s: float | None = None,
) -> AudioInfo:
    """Decode the whole file as a stream, block by block, and apply every check `decode` applies
    (empty, not audio, corrupt, truncated, too short, too long, silent) without holding the audio
    in memory: what an upload can know is refused at upload, in the web process, without
    TensorFlow. The result's duration is the decoded one. (`check_stream` for a stream already
    open, whose header a caller wanted first.)"""
    return check_stream(open_stream(path, max_duration_s, max_samples), max_duration_s, whole_up_to_s)


def check_stream(stream: AudioStream, max_duration_s: float, whole_up_to_s: float | None = None) -> AudioInfo:
    """`verify`'s checks on an open stream. With `whole_up_to_s`, a recording whose header says it
    is longer gets its first `whole_up_to_s` decoded and checked (it is audio, it decodes, no
    invalid values) and its header's length returned: decoding hours belongs to the worker, whose
    `classify_stream` applies the same checks to the rest as it classifies."""
    info = stream.info
    checks = StreamChecks(info, max_duration_s)
    if whole_up_to_s is None or (info.duration_s or 0.0) <= whole_up_to_s:
        for _ in checks.passing(stream.blocks):
            pass  # each block counted and checked, then dropped
        duration_s = checks.finish()
        return AudioInfo(round(duration_s, 3), info.sample_rate, info.channels, info.format)
    for _ in checks.passing(stream.blocks):
        if checks.samples >= whole_up_to_s * SAMPLE_RATE:
            break
    close = getattr(stream.blocks, "close", None)
    if close is not None:
        close()  # stops an ffmpeg pipe at once
    if not checks.finite:
        raise AudioDecodeError(CORRUPT)
    if checks.samples < MIN_DURATION_S * SAMPLE_RATE:
        raise AudioDecodeError(
            f"The file is truncated: it promises {_length(info.duration_s or 0)} of audio "
            f"but only {checks.samples / SAMPLE_RATE:.1f} s could be read."
        )
    return AudioInfo(round(info.duration_s or 0.0, 3), info.sample_rate, info.channels, info.format)


@dataclass
class AudioStream:
    """A recording as it decodes: what its header says, and its audio as 16 kHz mono float32
    blocks (about four seconds each), each mixed down and resampled as it comes. Memory is one
    block, whatever the file's length, rate or channels."""

    info: AudioInfo
    blocks: Iterator[np.ndarray]


def open_stream(
    path: str | Path, max_duration_s: float = DEFAULT_MAX_DURATION_S, max_samples: float | None = None
) -> AudioStream:
    """Check what can be checked before decoding (empty, unended Ogg, not audio, absurd header,
    too long by its header, more samples to decode than `max_samples`), then decode lazily:
    soundfile where it can, an ffmpeg pipe for the rest. Reading stops one second past
    `max_duration_s`, so a lying header cannot run on."""
    path = Path(path)
    _refuse_if_empty(path)
    _refuse_unended_ogg(path)
    try:
        info = _soundfile_info(path)
        blocks = _soundfile_blocks(path, info, max_duration_s)
    except _NotForSoundfile:
        info = probe_with_ffprobe(path)
        blocks = _ffmpeg_blocks(path, max_duration_s)
    if info.duration_s is not None:
        _refuse_if_too_long(info.duration_s, max_duration_s)
        _refuse_if_too_much_to_decode(info, max_samples)
    return AudioStream(info, blocks)


def decoded_samples(info: AudioInfo) -> float:
    """How many samples decoding the whole file means: length x rate x channels (what costs
    decoding time, whatever the file's size in bytes)."""
    return (info.duration_s or 0.0) * (info.sample_rate or 0) * max(info.channels or 1, 1)


def _refuse_if_too_much_to_decode(info: AudioInfo, max_samples: float | None) -> None:
    """A small file can hold hours of many channels at a high rate (a 4.6 MB FLAC of 6 h x 8 x
    384 kHz): refused by its header, before minutes of decoding."""
    if max_samples is None or decoded_samples(info) <= max_samples:
        return
    raise AudioDecodeError(
        f"The file holds {_length(info.duration_s or 0)} of {info.channels} channels at "
        f"{info.sample_rate} Hz: more audio to decode than we accept "
        f"({max_samples / 1e9:.1f} billion samples, six hours of stereo at 48 kHz by default). "
        "Send it mixed down to stereo, or at a lower rate."
    )


class StreamChecks:
    """The checks on decoded audio (truncated, too long, too short, invalid values, silent), kept
    as blocks go by: `add` each block, then `finish` for the decoded length, or an error."""

    def __init__(self, info: AudioInfo, max_duration_s: float):
        self.info, self.max_duration_s = info, max_duration_s
        self.samples, self.peak, self.finite = 0, 0.0, True

    def add(self, block: np.ndarray) -> bool:
        """Count a block; False once an invalid value was seen (nothing more needs decoding)."""
        self.samples += len(block)
        if not np.all(np.isfinite(block)):
            self.finite = False
            return False
        if len(block):
            self.peak = max(self.peak, float(np.max(np.abs(block))))
        return True

    def passing(self, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """The blocks, each counted on the way, until one holds an invalid value."""
        for block in blocks:
            if not self.add(block):
                return
            yield block

    def finish(self) -> float:
        duration_s = self.samples / SAMPLE_RATE
        _check_decoded(self.info, duration_s, self.max_duration_s, self.peak, self.finite)
        return duration_s


OGG_TAIL_BYTES = 1 << 16  # an Ogg page is at most 65,307 bytes


def _refuse_unended_ogg(path: Path) -> None:
    """An Ogg stream's last page carries the end-of-stream flag (RFC 3533, header type 0x04). A
    file cut short (an interrupted download or copy) still decodes up to its last whole page and
    reports that shorter length as if it were all, so the missing flag is the only sign."""
    with path.open("rb") as handle:
        if handle.read(4) != b"OggS":
            return
        size = handle.seek(0, 2)
        handle.seek(max(0, size - OGG_TAIL_BYTES))
        tail = handle.read()
    last = tail.rfind(b"OggS")
    if last < 0 or last + 5 >= len(tail) or not tail[last + 5] & 0x04:
        raise AudioDecodeError(
            "The file is truncated: the Ogg stream ends without its last page (an interrupted "
            "download or copy?)."
        )


CORRUPT = "The file is corrupt: it decodes to invalid sample values."


def _check_decoded(
    info: AudioInfo, duration_s: float, max_duration_s: float, peak: float, finite: bool
) -> None:
    """The checks on what was decoded, shared by `decode` and `verify`."""
    if info.duration_s and duration_s < TRUNCATION_TOLERANCE * info.duration_s - 0.5:
        raise AudioDecodeError(
            f"The file is truncated: it promises {info.duration_s:.1f} s of audio "
            f"but only {duration_s:.1f} s could be read."
        )
    if duration_s > max_duration_s:
        # Decoding stops one second past the limit, so the length read is not the file's.
        raise AudioDecodeError(f"The recording is too long: the limit is {_length(max_duration_s)}.")
    if duration_s < MIN_DURATION_S:
        raise AudioDecodeError(
            f"The recording is too short to classify ({duration_s:.2f} s; at least "
            f"{MIN_DURATION_S} s is needed)."
        )
    if not finite:
        raise AudioDecodeError(CORRUPT)
    if peak < SILENCE_PEAK:
        raise AudioDecodeError("The recording is silent: there is nothing to classify.")


STREAM_BLOCK_FRAMES = 1 << 16


def _soundfile_blocks(path: Path, info: AudioInfo, max_duration_s: float) -> Iterator[np.ndarray]:
    """16 kHz mono blocks through soundfile: each block mixed down and resampled as it comes, so
    memory follows the 16 kHz mono result, never the file's own rate and channels (an 8-channel
    384 kHz file would otherwise need 190 times its output's memory)."""
    max_frames = int((max_duration_s + 1) * info.sample_rate)
    resampler = (
        soxr.ResampleStream(info.sample_rate, SAMPLE_RATE, 1, dtype="float32")
        if info.sample_rate != SAMPLE_RATE
        else None
    )
    read = 0
    try:
        with soundfile.SoundFile(str(path)) as stream:
            while read < max_frames:
                block = stream.read(
                    min(STREAM_BLOCK_FRAMES, max_frames - read), dtype="float32", always_2d=True
                )
                read += len(block)
                last = not len(block) or read >= max_frames
                mono = np.ascontiguousarray(block.mean(axis=1), dtype=np.float32)
                out = mono if resampler is None else resampler.resample_chunk(mono, last=last)
                if len(out):
                    yield out
                if last:
                    return
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise AudioDecodeError(f"The file is corrupt and cannot be decoded ({error}).") from None


# ffmpeg is killed when it yields nothing for this long (a stalled or pathological decode).
FFMPEG_STALL_S = 60


def _ffmpeg_blocks(path: Path, max_duration_s: float) -> Iterator[np.ndarray]:
    """16 kHz mono blocks through an ffmpeg pipe (formats soundfile does not read). One watcher
    thread kills ffmpeg when a read has waited FFMPEG_STALL_S (time the caller spends between
    blocks does not count)."""
    process = subprocess.Popen(
        _ffmpeg_command(path, max_duration_s), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    reading_since: list[float | None] = [None]
    stalled, done = threading.Event(), threading.Event()

    def watch() -> None:
        while not done.wait(1.0):
            since = reading_since[0]
            if since is not None and time.monotonic() - since > FFMPEG_STALL_S:
                stalled.set()
                process.kill()
                return

    threading.Thread(target=watch, name="ffmpeg-watchdog", daemon=True).start()
    samples, leftover = 0, b""
    try:
        while True:
            reading_since[0] = time.monotonic()
            chunk = process.stdout.read(4 * STREAM_BLOCK_FRAMES)
            reading_since[0] = None
            if stalled.is_set():
                raise AudioDecodeError("The file took too long to decode; it may be corrupt.")
            if not chunk:
                break
            chunk = leftover + chunk
            usable = len(chunk) - len(chunk) % 4
            leftover = chunk[usable:]
            block = np.frombuffer(chunk[:usable], dtype="<f4").astype(np.float32)
            samples += len(block)
            yield block
        if process.wait() != 0 and samples == 0:
            raise AudioDecodeError("The file is corrupt and cannot be decoded.")
    finally:
        done.set()
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()


class _NotForSoundfile(Exception):
    """libsndfile cannot read this container; ffmpeg may."""


def is_unusual(sample_rate: int, channels: int) -> bool:
    """A header no recording has: decoding it could need gigabytes."""
    return channels > MAX_CHANNELS or sample_rate > MAX_SAMPLE_RATE


def _refuse_if_unusual(info: AudioInfo) -> AudioInfo:
    if is_unusual(info.sample_rate, info.channels):
        raise AudioDecodeError(
            f"The file claims {info.channels} channels at {info.sample_rate} Hz, which is not a "
            "recording we can process."
        )
    return info


def _length(seconds: float) -> str:
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _refuse_if_too_long(duration_s: float, max_duration_s: float) -> None:
    if duration_s > max_duration_s:
        raise AudioDecodeError(
            f"The recording is too long ({duration_s / 60:.1f} min); the limit is {_length(max_duration_s)}."
        )


def to_mono_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Samples (frames, or frames x channels) at any rate as 16 kHz mono float32."""
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if sample_rate != SAMPLE_RATE:
        samples = soxr.resample(samples, sample_rate, SAMPLE_RATE).astype(np.float32, copy=False)
    return samples


def _soundfile_info(path: Path) -> AudioInfo:
    try:
        sf_info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        raise _NotForSoundfile from None
    claimed_s = sf_info.frames / sf_info.samplerate if sf_info.frames > 0 and sf_info.samplerate > 0 else None
    # libsndfile quietly shortens a cut-off WAV to what is there, but says what the header
    # promised in its report ("data : 192000 (should be 63970)").
    cut = _CUT_CHUNK.search(sf_info.extra_info or "")
    if claimed_s and cut and int(cut["actual"]) > 0:
        claimed_s *= int(cut["claimed"]) / int(cut["actual"])
    container = _SOUNDFILE_FORMATS.get(sf_info.format, sf_info.format.lower())
    if container == "ogg" and sf_info.subtype == "OPUS":
        container = "opus"
    return _refuse_if_unusual(AudioInfo(claimed_s, int(sf_info.samplerate), int(sf_info.channels), container))


def _require(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise AudioDecodeError(
            f"This format needs {tool}, which is not installed on the server; "
            "upload WAV, FLAC, OGG or MP3 instead."
        )
    return found


def probe_with_ffprobe(path: Path) -> AudioInfo:
    """Ask ffprobe what the first audio stream claims; refuse files with no audio stream."""
    command = [
        _require("ffprobe"),
        *("-v", "error", "-select_streams", "a:0", "-print_format", "json"),
        *("-show_entries", "stream=sample_rate,channels,duration:format=duration,format_name"),
        str(path),
    ]
    try:
        completed = subprocess.run(command, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise AudioDecodeError("The file took too long to inspect; it may be corrupt.") from None
    try:
        report = json.loads(completed.stdout or b"{}")
    except json.JSONDecodeError:
        report = {}
    streams = report.get("streams") or []
    if completed.returncode != 0 or not streams:
        raise AudioDecodeError("This is not an audio file we can read.")
    stream = streams[0]
    duration = _positive_float(stream.get("duration")) or _positive_float(
        (report.get("format") or {}).get("duration")
    )
    format_names = str((report.get("format") or {}).get("format_name") or "").split(",")
    container = next((_FFPROBE_FORMATS[n] for n in format_names if n in _FFPROBE_FORMATS), format_names[0])
    return _refuse_if_unusual(
        AudioInfo(
            duration_s=duration,
            sample_rate=int(_positive_float(stream.get("sample_rate")) or 0),
            channels=int(stream.get("channels") or 0),
            format=container,
        )
    )


def _positive_float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) and number > 0 else None


def _ffmpeg_command(path: Path, max_duration_s: float) -> list[str]:
    return [
        _require("ffmpeg"),
        *("-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0"),
        # One second past the limit is enough to know a header-less stream is too long.
        *("-t", f"{max_duration_s + 1:.3f}", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"),
    ]
