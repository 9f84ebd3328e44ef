"""From per-window probabilities to a timeline and a clip label: shared by inference and evaluation.

1. Calibrate: temperature scaling (fitted on the validation split at training) so a 0.9 means
   right about nine times in ten; then, where the model's recipe asks, a log-prior offset per
   class (fitted on the same split with every class weighing the same), which moves the
   boundaries back where sources the network never trained on put them.
2. Smooth: a centred moving median over neighbouring windows (each window overlaps its
   neighbours by half), so a single odd window cannot flicker the timeline, while a change of
   class that lasts two windows or more survives.
3. Clip label: the duration-weighted mean of the smoothed window probabilities; its largest
   class is the label and its value the confidence.
4. Uncertain: a window, segment or clip whose top two classes lie within a margin of each other
   is flagged rather than stated; the margin is chosen on cross-validated outputs
   (python -m ml.training.uncertainty) and stored in the model's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEFAULT_SMOOTHING_WINDOWS = 3
# Used by models whose metadata predates the margin (chosen by `python -m ml.training.uncertainty`).
DEFAULT_UNCERTAIN_MARGIN = 0.2


def top_two_margin(probabilities: np.ndarray) -> np.ndarray:
    """Per row, the largest probability minus the second largest (1-D input: one row)."""
    ordered = np.sort(np.atleast_2d(probabilities), axis=1)
    return ordered[:, -1] - ordered[:, -2]


def is_uncertain(probabilities: np.ndarray, margin: float) -> np.ndarray:
    """True where the top two classes are within `margin` of each other."""
    return top_two_margin(probabilities) < margin


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

    from scipy.optimize import minimize_scalar  # fitting only: serving never loads the optimiser

    def nll(temperature: float) -> float:
        return -log_likelihood(calibrate(probabilities, temperature), labels)

    return float(minimize_scalar(nll, bounds=(0.25, 10.0), method="bounded").x)


def log_likelihood(probabilities: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    picked = np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1))
    return float(np.average(picked, weights=weights))


def fit_class_bias(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Log-prior offsets (the first class's fixed at 0) that maximise the class-balanced
    likelihood of held-out windows: vector scaling without the scale (Guo et al., 2017,
    arXiv:1706.04599). Bounded to +-3 so that one odd validation source cannot push a class
    out of reach."""
    from scipy.optimize import minimize  # fitting only: serving never loads the optimiser

    counts = np.bincount(labels, minlength=probabilities.shape[1]).astype(float)
    weights = (1 / np.maximum(counts, 1))[labels]

    def loss(offsets: np.ndarray) -> float:
        return -log_likelihood(with_bias(probabilities, np.r_[0.0, offsets]), labels, weights)

    fitted = minimize(loss, np.zeros(probabilities.shape[1] - 1), method="L-BFGS-B", bounds=[(-3, 3)] * 2)
    return np.r_[0.0, fitted.x]


def with_bias(probabilities: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Probabilities times exp(bias) per class, renormalised (in float64: the fit's numerical
    gradient needs the precision)."""
    logits = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1.0)) + np.asarray(bias)
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Calibration:
    """What turns a network's raw probabilities into calibrated ones; stored in model metadata."""

    temperature: float = 1.0
    class_bias: tuple[float, ...] = field(default=(0.0, 0.0, 0.0))

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        calibrated = calibrate(probabilities, self.temperature)
        if not any(self.class_bias) or len(calibrated) == 0:
            return calibrated
        return with_bias(calibrated, np.array(self.class_bias)).astype(np.float32)

    @classmethod
    def fit(cls, probabilities: np.ndarray, labels: np.ndarray, class_bias: bool = False) -> Calibration:
        """Fitted on held-out windows; the identity where there are none, and no bias unless
        every class is among them (an absent class's offset would only sink)."""
        if len(labels) == 0:
            return cls()
        temperature = fit_temperature(probabilities, labels)
        if not class_bias or len(np.unique(labels)) < probabilities.shape[1]:
            return cls(temperature)
        bias = fit_class_bias(calibrate(probabilities, temperature), labels)
        return cls(temperature, tuple(round(float(b), 4) for b in bias))

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> Calibration:
        return cls(
            float(metadata.get("temperature", 1.0)),
            tuple(float(b) for b in metadata.get("class_bias", (0.0, 0.0, 0.0))),
        )


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
    # scipy.ndimage.median_filter(mode="nearest") in NumPy (scipy.ndimage costs a second of cold
    # start): the edge windows repeated, the middle rank of each neighbourhood.
    half = windows // 2
    padded = np.pad(probabilities, ((half, windows - 1 - half), (0, 0)), mode="edge")
    neighbourhoods = np.lib.stride_tricks.sliding_window_view(padded, windows, axis=0)
    smoothed = np.sort(neighbourhoods, axis=-1)[..., half]
    return (smoothed / np.clip(smoothed.sum(axis=1, keepdims=True), 1e-7, None)).astype(np.float32)


def clip_probabilities(probabilities: np.ndarray, durations_s: np.ndarray) -> np.ndarray:
    """Duration-weighted mean of window probabilities: the whole clip's answer."""
    weights = np.clip(np.asarray(durations_s, dtype=np.float64), 1e-3, None)
    return (probabilities * weights[:, None]).sum(axis=0) / weights.sum()


def decide(
    raw_probabilities: np.ndarray,
    durations_s: np.ndarray,
    calibration: Calibration = Calibration(),
    smoothing_windows: int = DEFAULT_SMOOTHING_WINDOWS,
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated, smoothed window probabilities of one recording, and the clip's probabilities."""
    return smooth_and_pool(calibration.apply(raw_probabilities), durations_s, smoothing_windows)


def smooth_and_pool(
    probabilities: np.ndarray, durations_s: np.ndarray, smoothing_windows: int = DEFAULT_SMOOTHING_WINDOWS
) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed window probabilities of one recording, and the clip's probabilities."""
    windows = smooth(probabilities, smoothing_windows)
    return windows, clip_probabilities(windows, durations_s)
