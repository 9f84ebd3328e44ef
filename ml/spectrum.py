"""The log-mel front end in NumPy: power spectrogram, mel bands, decibels, MFCCs and deltas.

These are librosa 0.11's `melspectrogram` (centred Hann STFT, zero padding, Slaney mel filters),
`power_to_db` (ref 1, top 80 dB), `mfcc` (orthonormal DCT-II) and `delta` (first-order
Savitzky-Golay, edges repeated), with the same defaults. We compute them here because importing
librosa pulls in scipy.signal and numba: 2 to 5 s of a worker's and of `ml.classify`'s cold start,
for arithmetic that NumPy does in a few lines. librosa stays the reference:
tests/ml/test_features.py checks these against it on real audio.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft

TOP_DB = 80.0
AMIN = 1e-10


@functools.cache
def hann(n_fft: int) -> np.ndarray:
    """The periodic Hann window (scipy.signal.get_window("hann", n_fft), as librosa uses)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def power_spectrogram(samples: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """|STFT|^2 with centred frames (n_fft // 2 zeros each side): (n_fft // 2 + 1, frames)."""
    padded = np.pad(np.asarray(samples, dtype=np.float32), n_fft // 2, mode="constant")
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length]
    spectrum = scipy.fft.rfft(frames * hann(n_fft), axis=1)  # float32 in, complex64 out: 3x NumPy's speed
    return (spectrum.real**2 + spectrum.imag**2).astype(np.float32, copy=False).T


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3)
    log_region = hz >= 1000.0
    mel[log_region] = 15.0 + np.log(hz[log_region] / 1000.0) / (np.log(6.4) / 27.0)
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    hz = mel * (200.0 / 3)
    log_region = mel >= 15.0
    hz[log_region] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel[log_region] - 15.0))
    return hz


@functools.cache
def mel_filters(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular mel filters from 0 Hz to Nyquist, each of unit area (Slaney): (n_mels, bins)."""
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([sample_rate / 2]))[0], n_mels + 2)
    )
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2 : n_mels + 2] - edges[:n_mels]))[:, None]
    return weights.astype(np.float32)


def log_mel(samples: np.ndarray, sample_rate: int, n_fft: int, hop_length: int, n_mels: int) -> np.ndarray:
    """Mel power in decibels (ref 1), floored 80 dB below the loudest cell: (n_mels, frames)."""
    mel = mel_filters(sample_rate, n_fft, n_mels) @ power_spectrogram(samples, n_fft, hop_length)
    decibels = 10.0 * np.log10(np.maximum(AMIN, mel))
    return np.maximum(decibels, decibels.max() - TOP_DB)


def mfcc(log_mel_power: np.ndarray, n_mfcc: int) -> np.ndarray:
    """Orthonormal DCT-II over the mel bands: (n_mfcc, frames)."""
    return scipy.fft.dct(log_mel_power, axis=0, type=2, norm="ortho")[:n_mfcc]


def delta(features: np.ndarray, width: int) -> np.ndarray:
    """Local slope over `width` frames (odd), edges repeated: sum(k * x[t + k]) / sum(k^2)."""
    half = width // 2
    offsets = np.arange(-half, half + 1, dtype=np.float64)
    padded = np.pad(features, ((0, 0), (half, half)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=1)
    return (windows @ offsets / np.sum(offsets**2)).astype(features.dtype)
