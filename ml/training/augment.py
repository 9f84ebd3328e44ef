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
from ml.training.data import CorpusFile


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
    """A picklable transform for ml.training.data.load_windows; deterministic per (seed, file).
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


def coloured_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """White to brown noise under a random band-pass: wind, rain, traffic, fans, hiss."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum *= 1 / np.maximum(freqs, 20) ** (rng.uniform(0, 2) / 2)  # white (0) .. brown (2)
    low, high = sorted(rng.uniform([20, 800], [600, 8000]))
    spectrum[(freqs < low) | (freqs > high)] *= 0.05
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.std(noise) + 1e-9)


def swelling(noise: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Slow loudness swells, like gusts of wind or passing traffic."""
    t = np.arange(len(noise)) / SAMPLE_RATE
    return noise * (
        1 + rng.uniform(0, 0.8) * np.sin(2 * np.pi * rng.uniform(0.05, 1.5) * t + rng.uniform(0, 6))
    )


def clicks(n: int, rng: np.random.Generator, per_second: float) -> np.ndarray:
    """Impulsive clicks or knocks at random times."""
    impulses = np.zeros(n)
    at = rng.integers(0, n, size=max(1, int(n / SAMPLE_RATE * per_second)))
    impulses[at] = rng.uniform(-1, 1, size=len(at)) * 20
    decay = np.exp(-np.arange(int(0.03 * SAMPLE_RATE)) / (0.004 * SAMPLE_RATE))
    return np.convolve(impulses, decay)[:n]


def ambience(n: int, rng: np.random.Generator) -> np.ndarray:
    """Steady coloured noise that swells, sometimes with clicks: the original synthetic noise."""
    noise = swelling(coloured_noise(n, rng), rng)
    if rng.random() < 0.4:
        noise = noise + clicks(n, rng, rng.uniform(0.5, 8)) * np.std(noise)
    return noise


def machinery(n: int, rng: np.random.Generator) -> np.ndarray:
    """Work done in a rhythm (sawing, hammering, an engine's strokes): bursts of filtered noise,
    some with a damped metallic ring, repeating at a near-steady period. A rhythm alone must
    not make a recording music."""
    period = rng.uniform(0.15, 1.2)
    burst_s = rng.uniform(0.01, min(0.5, period * 0.8))
    burst_n = int(burst_s * SAMPLE_RATE)
    sos = butter(
        2, sorted(rng.uniform([100, 1500], [1200, 7000])), btype="bandpass", fs=SAMPLE_RATE, output="sos"
    )
    t = np.arange(burst_n) / SAMPLE_RATE
    ring_hz = rng.uniform(400, 5000) if rng.random() < 0.5 else 0.0
    signal = np.zeros(n + burst_n)
    at = 0.0
    while at * SAMPLE_RATE < n:
        start = int(at * SAMPLE_RATE)
        burst = sosfilt(sos, rng.standard_normal(burst_n)) * np.exp(-t / (burst_s * rng.uniform(0.2, 0.6)))
        if ring_hz:
            burst += 0.5 * np.sin(2 * np.pi * ring_hz * t) * np.exp(-t / rng.uniform(0.01, 0.1))
        signal[start : start + burst_n] += burst * rng.uniform(0.6, 1.0)
        at += period * rng.uniform(0.9, 1.1)
    signal = signal[:n] / (np.std(signal[:n]) + 1e-9)
    return signal + rng.uniform(0.05, 0.5) * coloured_noise(n, rng)


def chirps(n: int, rng: np.random.Generator) -> np.ndarray:
    """Bird-like calls: short high frequency sweeps, alone or in trills, over a bed of wind."""
    signal = np.zeros(n)
    at = rng.uniform(0, 0.5)
    while at * SAMPLE_RATE < n:
        length = int(rng.uniform(0.03, 0.25) * SAMPLE_RATE)
        start = int(at * SAMPLE_RATE)
        f_start, f_end = rng.uniform(1500, 7000, size=2)
        sweep = np.linspace(f_start, f_end, length)
        phase = 2 * np.pi * np.cumsum(sweep) / SAMPLE_RATE
        call = (np.sin(phase) + rng.uniform(0, 0.4) * np.sin(2 * phase)) * np.hanning(length)
        end = min(n, start + length)
        signal[start:end] += call[: end - start] * rng.uniform(0.3, 1.0)
        trill = rng.random() < 0.6
        at += rng.uniform(0.04, 0.15) if trill else rng.uniform(0.2, 1.5)
    signal /= np.std(signal) + 1e-9
    return signal + rng.uniform(0.05, 0.6) * swelling(coloured_noise(n, rng), rng)


def hum(n: int, rng: np.random.Generator) -> np.ndarray:
    """Engines, fans and mains hum: a low harmonic series whose pitch wanders, under broadband noise."""
    t = np.arange(n) / SAMPLE_RATE
    base = rng.uniform(30, 160)
    wander = base * (
        1 + rng.uniform(0, 0.08) * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 6))
    )
    phase = 2 * np.pi * np.cumsum(wander) / SAMPLE_RATE
    harmonics = np.sum(
        [rng.uniform(0, 1) / k * np.sin(k * phase + rng.uniform(0, 6)) for k in range(1, 12)], axis=0
    )
    harmonics /= np.std(harmonics) + 1e-9
    return harmonics + rng.uniform(0.3, 1.5) * coloured_noise(n, rng)


# The kinds of synthetic noise and how often each is drawn.
SYNTHETIC_NOISES = {"ambience": 0.4, "machinery": 0.25, "chirps": 0.2, "hum": 0.15}
_GENERATORS = {"ambience": ambience, "machinery": machinery, "chirps": chirps, "hum": hum}


def synthetic_noise(
    seconds: float, rng: np.random.Generator, kinds: dict[str, float] | None = None
) -> np.ndarray:
    """Procedural noise of the kinds users record and the corpus lacks: steady ambience (wind,
    rain, traffic, with clicks or knocks), rhythmic machinery, bird-like chirps, engine hum."""
    kinds = kinds or SYNTHETIC_NOISES
    names = list(kinds)
    weights = np.array([kinds[name] for name in names], dtype=float)
    kind = names[rng.choice(len(names), p=weights / weights.sum())]
    noise = _GENERATORS[kind](int(seconds * SAMPLE_RATE), rng)
    noise /= np.max(np.abs(noise)) + 1e-9
    return (noise * rng.uniform(0.05, 0.7)).astype(np.float32)
