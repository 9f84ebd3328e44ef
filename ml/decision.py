"""From per-window probabilities to a timeline and a clip label: shared by inference and evaluation.

1. Calibrate: temperature scaling (fitted on the validation split at training) so a 0.9 means
   right about nine times in ten.
2. Smooth: a centred moving median over neighbouring windows (each window overlaps its
   neighbours by half), so a single odd window cannot flicker the timeline, while a change of
   class that lasts two windows or more survives.
3. Clip label: the duration-weighted mean of the smoothed window probabilities; its largest
   class is the label and its value the confidence.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter
from scipy.optimize import minimize_scalar

DEFAULT_SMOOTHING_WINDOWS = 3


def calibrate(probabilities: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax of log-probabilities divided by `temperature` (1.0 leaves them as they are)."""
    if temperature == 1.0 or len(probabilities) == 0:
        return probabilities
    logits = np.log(np.clip(probabilities, 1e-7, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=1, keepdims=True)).astype(np.float32)


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises negative log-likelihood on held-out windows."""

    def nll(temperature: float) -> float:
        scaled = calibrate(probabilities, temperature)
        return float(-np.mean(np.log(np.clip(scaled[np.arange(len(labels)), labels], 1e-7, 1))))

    return float(minimize_scalar(nll, bounds=(0.25, 10.0), method="bounded").x)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def smooth(probabilities: np.ndarray, windows: int = DEFAULT_SMOOTHING_WINDOWS) -> np.ndarray:
    """Moving median of each class's probability over `windows` neighbours, renormalised."""
    if windows <= 1 or len(probabilities) < 2:
        return probabilities
    smoothed = median_filter(probabilities, size=(windows, 1), mode="nearest")
    return (smoothed / np.clip(smoothed.sum(axis=1, keepdims=True), 1e-7, None)).astype(np.float32)


def clip_probabilities(probabilities: np.ndarray, durations_s: np.ndarray) -> np.ndarray:
    """Duration-weighted mean of window probabilities: the whole clip's answer."""
    weights = np.clip(np.asarray(durations_s, dtype=np.float64), 1e-3, None)
    return (probabilities * weights[:, None]).sum(axis=0) / weights.sum()


def decide(
    raw_probabilities: np.ndarray,
    durations_s: np.ndarray,
    temperature: float = 1.0,
    smoothing_windows: int = DEFAULT_SMOOTHING_WINDOWS,
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated, smoothed window probabilities and the clip's probabilities."""
    windows = smooth(calibrate(raw_probabilities, temperature), smoothing_windows)
    return windows, clip_probabilities(windows, durations_s)
