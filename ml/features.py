"""MFCC features per window: one code path for training and inference.

The seed cut 3 s windows with 50% overlap, took 13 MFCCs (n_fft 1024, hop 512) and averaged
them over time. We keep those windows, but compute the MFCCs once over the whole file (ml/spectrum.py, librosa's
defaults) and cut the frame matrix into windows with a strided view, so a long file costs no Python
loop. Fixes over the seed: a file shorter than one window still yields one window (the seed
produced none and answered NaN), and the final partial window is covered so the timeline reaches
the end of the file. Standardisation lives inside the model (see ml/training/networks.py).

Feature kinds:
- ``seed``: mean of each MFCC over the window (13 values), as the seed did.
- ``stats``: mean and standard deviation of MFCCs and of their deltas (4 x n_mfcc values): how
  much the spectrum moves over time separates speech (syllable rate) from music and noise.
- ``frames``: the window's MFCC + delta frames themselves, for a model that sees context in time.

``log_mel_bands`` adds the log-mel spectrum (pooled from the 128 bands under the MFCCs, so it
costs no second transform): its fine structure shows harmonics that 13 MFCCs smooth away.

``normalise`` subtracts a mean over time from the MFCCs and log-mel bands (cepstral mean
normalisation), which removes the recording chain's colouring (microphone, codec, room) that a
model would otherwise learn to recognise instead of the content: ``recording`` uses the whole
file's mean, ``window`` each window's own mean. Only the per-window modes mean the same thing in
a recording that changes class half-way as in the one-class files the model trains on.
``envelope`` treats MFCCs as ``window`` does, but takes from the log-mel bands only the smooth
envelope of the window's mean spectrum (a moving average over neighbouring bands): a microphone,
codec or room colours the spectrum smoothly, so that goes, while the peaks a held note or chord
leaves between neighbouring bands stay. Under ``window`` a sustained chord and steady rain both
flatten to small fluctuations around zero, which is how steady ambience gets heard as music.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ml import spectrum
from ml.audio import SAMPLE_RATE

N_MFCC = 13  # the seed's count
FEATURE_KINDS = ("seed", "stats", "frames")
NORMALISATIONS = ("none", "recording", "window", "envelope")
ENVELOPE_BANDS = 5  # width of the moving average over log-mel bands that makes the envelope


@dataclass(frozen=True)
class FeatureSettings:
    kind: str = "stats"
    n_mfcc: int = N_MFCC
    n_fft: int = 1024
    hop_length: int = 512
    window_s: float = 3.0
    window_hop_s: float = 1.5
    normalise: str = "none"
    # > 0 adds the log-mel spectrum, pooled to this many bands, to every frame.
    log_mel_bands: int = 0
    n_mels: int = 128  # librosa's default, under the MFCCs
    sample_rate: int = SAMPLE_RATE

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise ValueError(f"feature kind must be one of {FEATURE_KINDS}, not {self.kind!r}")
        if self.normalise not in NORMALISATIONS:
            raise ValueError(f"normalise must be one of {NORMALISATIONS}, not {self.normalise!r}")

    @property
    def normalised_columns(self) -> np.ndarray:
        """Which frame columns are levels (MFCC, log-mel) rather than deltas."""
        columns = np.zeros(2 * self.n_mfcc + self.log_mel_bands, dtype=bool)
        columns[: self.n_mfcc] = True
        columns[2 * self.n_mfcc :] = True
        return columns

    @property
    def frames_per_window(self) -> int:
        return max(1, round(self.window_s * self.sample_rate / self.hop_length))

    @property
    def frames_per_hop(self) -> int:
        return max(1, round(self.window_hop_s * self.sample_rate / self.hop_length))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FeatureSettings:
        return cls(**{key: values[key] for key in cls.__dataclass_fields__ if key in values})


@dataclass(frozen=True)
class WindowFeatures:
    """One row of features per window, with where each window lies in the file (seconds)."""

    features: np.ndarray  # (windows, ...) float32
    starts_s: np.ndarray
    ends_s: np.ndarray


def mfcc_frames(samples: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """MFCCs and their deltas (and the pooled log-mel spectrum, if asked) for the whole signal,
    one row per frame: (frames, 2 * n_mfcc + log_mel_bands)."""
    log_mel = spectrum.log_mel(
        samples, settings.sample_rate, settings.n_fft, settings.hop_length, settings.n_mels
    )
    mfcc = spectrum.mfcc(log_mel, settings.n_mfcc)
    extra = []
    if settings.log_mel_bands:
        pooled = log_mel.reshape(settings.log_mel_bands, -1, log_mel.shape[1]).mean(axis=1)
        extra.append(pooled)
    if settings.normalise == "recording":
        mfcc = mfcc - mfcc.mean(axis=1, keepdims=True)
        extra = [band - band.mean(axis=1, keepdims=True) for band in extra]
    width = min(9, mfcc.shape[1] - (1 - mfcc.shape[1] % 2))
    if width >= 3:
        delta = spectrum.delta(mfcc, width)
    else:
        delta = np.zeros_like(mfcc)
    return np.concatenate([mfcc, delta, *extra]).T.astype(np.float32)


def window_starts(frame_count: int, settings: FeatureSettings) -> np.ndarray:
    """First frame of each window; a last window is aligned to the end when the tail is uncovered."""
    size, step = settings.frames_per_window, settings.frames_per_hop
    if frame_count <= size:
        return np.array([0])
    starts = np.arange(0, frame_count - size + 1, step)
    if starts[-1] + size < frame_count:
        starts = np.append(starts, frame_count - size)
    return starts


def frame_windows(frames: np.ndarray, settings: FeatureSettings) -> tuple[np.ndarray, np.ndarray]:
    """A (windows, frames_per_window, features) view of the frame matrix, and window starts."""
    size = settings.frames_per_window
    if len(frames) < size:
        # Too short for one window: repeat the recording to fill it, so statistics and the
        # CNN's input shape stay meaningful (the seed returned nothing here).
        frames = np.resize(frames, (size, frames.shape[1]))
    starts = window_starts(len(frames), settings)
    view = np.lib.stride_tricks.sliding_window_view(frames, size, axis=0)  # (n, feat, size)
    windows = view[starts].transpose(0, 2, 1)
    if settings.normalise in ("window", "envelope"):
        windows = normalise_windows(windows, settings)
    return windows, starts


def normalise_windows(windows: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """Per-window mean removal (``window``), or for the log-mel bands its smooth envelope only
    (``envelope``); a copy, with deltas untouched."""
    levels = settings.normalised_columns
    means = windows[:, :, levels].mean(axis=1, keepdims=True)
    if settings.normalise == "envelope" and settings.log_mel_bands:
        from scipy.ndimage import uniform_filter1d  # only this research preset pays for the import

        mel = slice(-settings.log_mel_bands, None)
        means[..., mel] = uniform_filter1d(means[..., mel], ENVELOPE_BANDS, axis=-1, mode="nearest")
    windows = windows.copy()
    windows[:, :, levels] -= means
    return windows


def summarise(windows: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """Reduce each window of frames to the vector the model expects."""
    n_mfcc = settings.n_mfcc
    if settings.kind == "seed":
        return windows[:, :, :n_mfcc].mean(axis=1)
    if settings.kind == "stats":
        return np.concatenate([windows.mean(axis=1), windows.std(axis=1)], axis=1)
    return np.ascontiguousarray(windows)


def extract(samples: np.ndarray, settings: FeatureSettings) -> WindowFeatures:
    """Features for every window of a 16 kHz mono signal (at least one window)."""
    frames = mfcc_frames(samples, settings)
    windows, starts = frame_windows(frames, settings)
    duration_s = len(samples) / settings.sample_rate
    starts_s = starts * settings.hop_length / settings.sample_rate
    ends_s = np.minimum(starts_s + settings.window_s, duration_s)
    return WindowFeatures(
        features=summarise(windows, settings).astype(np.float32),
        starts_s=starts_s,
        ends_s=ends_s,
    )
