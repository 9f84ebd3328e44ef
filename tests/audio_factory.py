"""Audio made in code for tests: tones, chords, noise, and files of every format we accept."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile

RATE = 16_000


def chord(seconds: float = 4.0, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """A little tune: notes of a major chord in turn with harmonics, like music to MFCCs."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    notes = np.array([261.6, 329.6, 392.0, 523.3])
    beat = (t * 4).astype(int)
    freq = notes[(beat + rng.integers(4)) % len(notes)]
    phase = 2 * np.pi * np.cumsum(freq) / rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 5))
    return (0.2 * tone).astype(np.float32)


def white_noise(seconds: float = 4.0, rate: int = RATE, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * rate))).astype(np.float32)


def write(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """Write `samples` in the format the suffix names; ffmpeg encodes what libsndfile cannot."""
    suffix = path.suffix.lower()
    if suffix in {".wav", ".flac", ".ogg"}:
        soundfile.write(path, samples, rate)
        return path
    codec = {
        ".mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
        ".m4a": ["-c:a", "aac", "-b:a", "64k"],
        ".webm": ["-c:a", "libopus", "-b:a", "32k"],
        ".opus": ["-c:a", "libopus", "-b:a", "32k"],
    }[suffix]
    wav = path.with_suffix(".src.wav")
    soundfile.write(wav, samples, rate)
    subprocess.run(
        [shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-y", "-i", str(wav), *codec, str(path)],
        check=True,
    )
    wav.unlink()
    return path
