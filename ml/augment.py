"""Training-time augmentation: make the corpus sound like the phones, radios and rooms users have.

Each call draws a random chain from: gain, mixing with low-level noise from the noise class's
training files, telephone band-limiting (300-3400 Hz), a low-bitrate MP3 round trip through
ffmpeg, synthetic room reverberation, and speed/pitch perturbation. The label never changes:
speech with a little traffic under it is still speech.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Sequence

import numpy as np
import soxr
from scipy.signal import butter, fftconvolve, sosfilt

from ml.audio import SAMPLE_RATE, AudioDecodeError, decode
from ml.data import CorpusFile


def gain(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return samples * np.float32(10 ** (rng.uniform(-12, 6) / 20))


def mix(samples: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Add `noise` (looped or cut to length) at `snr_db` below the signal's power."""
    noise = np.resize(noise, samples.shape)
    signal_power = float(np.mean(samples**2)) + 1e-10
    noise_power = float(np.mean(noise**2)) + 1e-10
    scale = np.sqrt(signal_power / (noise_power * 10 ** (snr_db / 10)))
    return (samples + scale * noise).astype(np.float32)


def telephone(samples: np.ndarray) -> np.ndarray:
    sos = butter(4, [300, 3400], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return sosfilt(sos, samples).astype(np.float32)


def reverberate(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Convolve with exponentially decaying noise: a crude but honest room (RT60 0.2-0.9 s)."""
    rt60 = rng.uniform(0.2, 0.9)
    length = int(rt60 * SAMPLE_RATE)
    decay = np.exp(-6.9 * np.arange(length) / length)
    impulse = rng.standard_normal(length) * decay
    impulse[0] = 1.0
    impulse /= np.sqrt(np.sum(impulse**2))
    wet = fftconvolve(samples, impulse)[: len(samples)]
    return wet.astype(np.float32)


def change_speed(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Resample by 0.9-1.1x and play back at the old rate: tempo and pitch move together."""
    factor = rng.uniform(0.9, 1.1)
    return soxr.resample(samples, SAMPLE_RATE, int(SAMPLE_RATE / factor)).astype(np.float32)


def codec_round_trip(samples: np.ndarray, bitrate_kbps: int = 24) -> np.ndarray:
    """Encode to low-bitrate MP3 and back with ffmpeg (skipped where ffmpeg is missing)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return samples
    raw = ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1"]
    encoded = subprocess.run(
        [ffmpeg, "-v", "error", *raw, "-i", "-", "-b:a", f"{bitrate_kbps}k", "-f", "mp3", "-"],
        input=samples.astype("<f4").tobytes(),
        capture_output=True,
        check=False,
    ).stdout
    decoded = subprocess.run(
        [ffmpeg, "-v", "error", "-f", "mp3", "-i", "-", *raw, "-"],
        input=encoded,
        capture_output=True,
        check=False,
    ).stdout
    result = np.frombuffer(decoded, dtype="<f4")
    return result.astype(np.float32) if len(result) > SAMPLE_RATE // 4 else samples


AUGMENTATIONS = ("speed", "reverb", "mix", "telephone", "codec", "gain")


class Augmenter:
    """A picklable transform for ml.data.load_windows; deterministic per (seed, file).
    `skip` names augmentations to leave out, for measuring what each one buys."""

    def __init__(self, noise_files: Sequence[CorpusFile], seed: int = 0, skip: Sequence[str] = ()):
        unknown = set(skip) - set(AUGMENTATIONS)
        if unknown:
            raise ValueError(f"unknown augmentations {sorted(unknown)}; choose from {AUGMENTATIONS}")
        self.noise_paths = [f.path for f in noise_files]
        self.seed = seed
        self.skip = frozenset(skip)

    def rng_for(self, corpus_file: CorpusFile) -> np.random.Generator:
        digest = hashlib.sha256(f"{self.seed}:{corpus_file.path}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def random_noise(self, rng: np.random.Generator) -> np.ndarray | None:
        if not self.noise_paths:
            return None
        try:
            return decode(self.noise_paths[rng.integers(len(self.noise_paths))]).samples
        except AudioDecodeError:
            return None

    def __call__(self, samples: np.ndarray, corpus_file: CorpusFile) -> np.ndarray:
        rng = self.rng_for(corpus_file)
        if rng.random() < 0.3 and "speed" not in self.skip:
            samples = change_speed(samples, rng)
        if rng.random() < 0.3 and "reverb" not in self.skip:
            samples = reverberate(samples, rng)
        if rng.random() < 0.5 and "mix" not in self.skip:
            noise = self.random_noise(rng)
            if noise is not None:
                samples = mix(samples, noise, snr_db=rng.uniform(5, 25))
        if rng.random() < 0.25 and "telephone" not in self.skip:
            samples = telephone(samples)
        if rng.random() < 0.15 and "codec" not in self.skip:
            samples = codec_round_trip(samples)
        return samples if "gain" in self.skip else gain(samples, rng)


def synthetic_noise(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Procedural noise of the kinds users record and the corpus lacks: coloured noise (white to
    brown), shaped by a random band-pass, slowly swelling like wind or traffic, sometimes with
    impulsive clicks or knocks."""
    n = int(seconds * SAMPLE_RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum *= 1 / np.maximum(freqs, 20) ** (rng.uniform(0, 2) / 2)  # white (0) .. brown (2)
    low, high = sorted(rng.uniform([20, 800], [600, 8000]))
    spectrum[(freqs < low) | (freqs > high)] *= 0.05
    noise = np.fft.irfft(spectrum, n)
    t = np.arange(n) / SAMPLE_RATE
    swell = 1 + rng.uniform(0, 0.8) * np.sin(2 * np.pi * rng.uniform(0.05, 1.5) * t + rng.uniform(0, 6))
    noise *= swell
    if rng.random() < 0.4:
        clicks = np.zeros(n)
        at = rng.integers(0, n, size=int(seconds * rng.uniform(0.5, 8)))
        clicks[at] = rng.uniform(-1, 1, size=len(at)) * 20
        decay = np.exp(-np.arange(int(0.03 * SAMPLE_RATE)) / (0.004 * SAMPLE_RATE))
        noise += np.convolve(clicks, decay)[:n] * np.std(noise)
    noise /= np.max(np.abs(noise)) + 1e-9
    return (noise * rng.uniform(0.05, 0.7)).astype(np.float32)
