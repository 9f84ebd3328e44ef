"""Classify a recording: decode -> MFCC windows -> one batched model pass -> smoothed timeline.

Load a `Classifier` once per process (TensorFlow and the model cost seconds) and call
`classify(path)` as often as needed.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ml import CLASS_NAMES
from ml.audio import decode
from ml.context import ContextModel
from ml.decision import DEFAULT_SMOOTHING_WINDOWS, DEFAULT_UNCERTAIN_MARGIN, Calibration, decide, is_uncertain
from ml.features import FeatureSettings, extract
from ml.waveform import peaks

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "artifacts"
MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"


@dataclass
class Segment:
    start: float
    end: float
    label: str
    probabilities: dict[str, float]
    uncertain: bool = False  # the top two classes within the model's margin


@dataclass
class ClassificationResult:
    label: str
    confidence: float
    probabilities: dict[str, float]
    duration_s: float
    model_version: str
    segments: list[Segment]  # adjacent windows of one label merged into runs
    windows: list[Segment] = field(default_factory=list)  # every window, for evaluation
    sample_rate: int = 0
    channels: int = 0
    waveform: list[list[float]] = field(default_factory=list)  # [min, max] per column
    uncertain: bool = False

    def to_dict(self) -> dict:
        """The public shape: what `ml.classify --json` prints and the platform stores."""
        return {
            "label": self.label,
            "confidence": self.confidence,
            "uncertain": self.uncertain,
            "probabilities": self.probabilities,
            "duration_s": self.duration_s,
            "model_version": self.model_version,
            "segments": [asdict(segment) for segment in self.segments],
        }


def _as_dict(probabilities: np.ndarray) -> dict[str, float]:
    return {name: round(float(p), 4) for name, p in zip(CLASS_NAMES, probabilities)}


def merge_runs(windows: list[Segment], uncertain_margin: float = DEFAULT_UNCERTAIN_MARGIN) -> list[Segment]:
    """Join neighbouring windows of the same label into one segment; overlapping windows hand
    over at the midpoint of their overlap. A run's probabilities are the duration-weighted mean."""
    runs: list[Segment] = []
    weights: list[np.ndarray] = []
    for i, window in enumerate(windows):
        start = runs[-1].end if runs else window.start
        end = window.end
        if i + 1 < len(windows) and windows[i + 1].start < window.end:
            end = (windows[i + 1].start + window.end) / 2
        vector = np.array([window.probabilities[n] for n in CLASS_NAMES]) * max(end - start, 1e-3)
        if runs and runs[-1].label == window.label:
            runs[-1].end = round(end, 3)
            weights[-1] = weights[-1] + np.append(vector, max(end - start, 1e-3))
        else:
            runs.append(Segment(round(start, 3), round(end, 3), window.label, {}))
            weights.append(np.append(vector, max(end - start, 1e-3)))
    for run, total in zip(runs, weights):
        run.probabilities = _as_dict(total[:-1] / total[-1])
        run.uncertain = bool(is_uncertain(total[:-1] / total[-1], uncertain_margin)[0])
    return runs


class Classifier:
    """A loaded model with its feature settings; thread-safe for concurrent `classify` calls."""

    def __init__(self, model, metadata: dict):
        self.model = model
        self.metadata = metadata
        self.settings = FeatureSettings.from_dict(metadata["features"])
        self.calibration = Calibration.from_metadata(metadata)
        self.smoothing_windows = int(metadata.get("smoothing_windows", DEFAULT_SMOOTHING_WINDOWS))
        self.uncertain_margin = float(metadata.get("uncertain_margin", DEFAULT_UNCERTAIN_MARGIN))
        self.context = ContextModel.from_dict(metadata.get("context"))
        self.version = str(metadata.get("model_version", "unknown"))
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: str | Path = DEFAULT_MODEL_DIR) -> Classifier:
        from ml import model as keras_models

        model_dir = Path(model_dir)
        metadata = json.loads((model_dir / METADATA_FILE).read_text())
        return cls(keras_models.load(model_dir / MODEL_FILE), metadata)

    def warm_up(self) -> None:
        """Run one short synthetic clip through every stage, so the first real clip does not pay
        for numba compiling librosa's kernels (about 2 s) or TensorFlow's first call."""
        noise = np.random.default_rng(0).standard_normal(self.settings.sample_rate * 4).astype(np.float32)
        self.classify_samples(0.1 * noise)

    def window_probabilities(self, features: np.ndarray) -> np.ndarray:
        from ml.model import predict

        with self._lock:
            return predict(self.model, features)

    def classify(self, path: str | Path, max_duration_s: float | None = None) -> ClassificationResult:
        audio = decode(path, max_duration_s=max_duration_s)
        result = self.classify_samples(audio.samples)
        result.duration_s = round(audio.duration_s, 3)
        result.sample_rate = audio.original_sample_rate
        result.channels = audio.channels
        result.waveform = peaks(audio.samples)
        return result

    def classify_samples(self, samples: np.ndarray) -> ClassificationResult:
        windows = extract(samples, self.settings)
        smoothed, overall = decide(
            self.window_probabilities(windows.features),
            windows.ends_s - windows.starts_s,
            self.calibration,
            self.smoothing_windows,
            self.context,
        )
        flagged = is_uncertain(smoothed, self.uncertain_margin) if len(smoothed) else []
        window_segments = [
            Segment(
                round(float(s), 3), round(float(e), 3), CLASS_NAMES[int(p.argmax())], _as_dict(p), bool(u)
            )
            for s, e, p, u in zip(windows.starts_s, windows.ends_s, smoothed, flagged)
        ]
        best = int(overall.argmax())
        return ClassificationResult(
            label=CLASS_NAMES[best],
            confidence=round(float(overall[best]), 4),
            probabilities=_as_dict(overall),
            duration_s=round(len(samples) / self.settings.sample_rate, 3),
            model_version=self.version,
            segments=merge_runs(window_segments, self.uncertain_margin),
            windows=window_segments,
            uncertain=bool(is_uncertain(overall, self.uncertain_margin)[0]),
        )
