"""Classify a recording: decode -> MFCC windows -> the MFCC network and the pretrained network ->
their combination -> smoothed timeline.

Load a `Classifier` once per process; a file is classified by `ml.streaming.classify_stream`, the
one way serving, the CLI, the promotion check's comparison and the bench all take (a recording of
one block goes whole through `classify_samples`). Nothing here imports TensorFlow
(tests/ml/test_served_network.py checks it in a fresh process).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ml import CLASS_NAMES, SILENCE
from ml.combiner import Combiner
from ml.decision import (
    DEFAULT_SMOOTHING_WINDOWS,
    DEFAULT_UNCERTAIN_MARGIN,
    Calibration,
    clip_probabilities,
    is_uncertain,
    smooth_and_pool,
)
from ml.features import FeatureSettings, WindowFeatures, extract
from ml.layers import DEFAULT_FOLDER as LAYERS_FOLDER
from ml.layers import HEADS_FILE, Layers, PatchLayers
from ml.network import MODEL_FILE as NETWORK_FILE
from ml.network import Network
from ml.pretrained import Pretrained, group_scores, patch_windows

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models" / "mfcc"
# A window whose RMS level is below this (dBFS: 0 is a full-scale square wave) holds nothing to
# classify: a pause between words, a gap between tracks. It is "silence" on the timeline, and the
# clip's label comes from the rest. Room tone and hiss sit around -60 to -45 dBFS in a quiet
# recording and digital silence far below; speech at a normal level is above -35 dBFS.
SILENCE_FLOOR_DBFS = -55.0
# A clip whose windows are nearly all silence is labelled "silence".
SILENT_CLIP_SHARE = 0.9
METADATA_FILE = "metadata.json"


@dataclass
class Segment:
    start: float
    end: float
    label: str
    probabilities: dict[str, float]
    uncertain: bool = False  # the top two classes within the model's margin
    family: str | None = None  # ml/families.py: always one of its label's families
    tags: list[dict[str, Any]] = field(default_factory=list)  # the pretrained network's own classes


def no_tracks() -> dict[str, list[dict[str, Any]]]:
    return {"speech": [], "music": []}


@dataclass
class Heard:
    """What the pretrained network heard, per patch: the group scores the combiner reads and, where
    the layered heads are loaded, their outputs (ml/layers.py)."""

    groups: np.ndarray
    layers: PatchLayers | None = None

    @classmethod
    def joined(cls, pieces: list[Heard]) -> Heard:
        layers = [piece.layers for piece in pieces if piece.layers is not None]
        return cls(
            np.concatenate([piece.groups for piece in pieces]),
            PatchLayers.joined(layers) if layers and len(layers) == len(pieces) else None,
        )


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
    # Where speech and where music are heard, overlapping where both are (ml/layers.py).
    tracks: dict[str, list[dict[str, Any]]] = field(default_factory=no_tracks)

    def to_dict(self) -> dict[str, Any]:
        """The public shape: what `ml.classify --json` prints and the platform stores."""
        return {
            "label": self.label,
            "confidence": self.confidence,
            "uncertain": self.uncertain,
            "probabilities": self.probabilities,
            "duration_s": self.duration_s,
            "model_version": self.model_version,
            "segments": [asdict(segment) for segment in self.segments],
            "tracks": self.tracks,
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
        run.uncertain = run.label != SILENCE and bool(
            is_uncertain(total[:-1] / total[-1], uncertain_margin)[0]
        )
    return runs


class Classifier:
    """A loaded model with its feature settings; thread-safe for concurrent `classify` calls.

    The MFCC network (model.tflite) gives each window calibrated probabilities; where the model's
    metadata carries a combiner, the pretrained network (ml/pretrained.py) hears the same windows
    and the combiner (ml/combiner.py) turns both opinions into the window's answer. Neither runs
    TensorFlow: both are TensorFlow Lite files under the LiteRT runtime."""

    def __init__(
        self,
        network: Network,
        metadata: dict[str, Any],
        pretrained: Pretrained | None = None,
        layers: Layers | None = None,
    ):
        self.network = network
        self.layers = layers if pretrained is not None and pretrained.embeddings else None
        self.metadata = metadata
        self.settings = FeatureSettings.from_dict(metadata["features"])
        self.calibration = Calibration.from_metadata(metadata)
        self.combiner = Combiner.from_dict(metadata.get("combiner"))
        self.pretrained = pretrained
        if self.combiner is not None and pretrained is None:
            raise ValueError("this model combines the pretrained network's opinion: load it too")
        self.smoothing_windows = int(metadata.get("smoothing_windows", DEFAULT_SMOOTHING_WINDOWS))
        self.uncertain_margin = float(metadata.get("uncertain_margin", DEFAULT_UNCERTAIN_MARGIN))
        self.version = str(metadata.get("model_version", "unknown"))

    @classmethod
    def load(cls, model_dir: str | Path = DEFAULT_MODEL_DIR, threads: int = 1) -> Classifier:
        model_dir = Path(model_dir)
        metadata = json.loads((model_dir / METADATA_FILE).read_text())
        layers = Layers() if metadata.get("combiner") and (LAYERS_FOLDER / HEADS_FILE).exists() else None
        pretrained = (
            Pretrained(threads=threads, embeddings=layers is not None) if metadata.get("combiner") else None
        )
        return cls(Network(model_dir / NETWORK_FILE, threads=threads), metadata, pretrained, layers)

    def warm_up(self) -> None:
        """Run one short synthetic clip through every stage, so the first real clip does not pay
        for numba compiling librosa's kernels (about 2 s) or the interpreters' first calls."""
        noise = np.random.default_rng(0).standard_normal(self.settings.sample_rate * 4).astype(np.float32)
        self.classify_samples(0.1 * noise)

    def hear(self, samples: np.ndarray) -> Heard | None:
        """The pretrained network over the samples' back-to-back patches (None without one)."""
        if self.pretrained is None:
            return None
        if self.layers is None:
            scores, _ = self.pretrained.patch_outputs(samples)
            return Heard(group_scores(scores))
        outputs = self.pretrained.patch_layers(samples)
        return Heard(group_scores(outputs.scores), self.layers.patch_layers(outputs))

    def window_probabilities(
        self, samples: np.ndarray, windows: WindowFeatures, heard: Heard | None = None
    ) -> np.ndarray:
        """Each window's calibrated answer, before smoothing: the MFCC network's, or the
        combiner's over both networks."""
        calibrated = self.calibration.apply(self.network.predict(windows.features))
        if self.combiner is None or self.pretrained is None:
            return calibrated
        heard = heard or self.hear(samples)
        assert heard is not None
        return self.combiner.apply(calibrated, window_means(heard.groups, windows.starts_s, windows.ends_s))

    def classify_samples(self, samples: np.ndarray) -> ClassificationResult:
        windows = extract(samples, self.settings)
        levels = window_levels_dbfs(samples, windows.starts_s, windows.ends_s, self.settings.sample_rate)
        heard = self.hear(samples)
        raw = self.window_probabilities(samples, windows, heard)
        duration_s = round(len(samples) / self.settings.sample_rate, 3)
        return self.assemble(raw, windows.starts_s, windows.ends_s, levels, duration_s, heard)

    def assemble(
        self,
        raw: np.ndarray,
        starts_s: np.ndarray,
        ends_s: np.ndarray,
        levels: np.ndarray,
        duration_s: float,
        heard: Heard | None = None,
    ) -> ClassificationResult:
        """The result from each window's answer before smoothing and its level: smoothing, silence,
        the clip's answer, the merged timeline. Shared by the whole-file path and ml/streaming.py."""
        durations = ends_s - starts_s
        smoothed, overall = smooth_and_pool(raw, durations, self.smoothing_windows)
        silent = levels < SILENCE_FLOOR_DBFS
        if (~silent).any():  # the clip's answer comes from the windows that hold sound
            overall = clip_probabilities(smoothed[~silent], durations[~silent])
        flagged = is_uncertain(smoothed, self.uncertain_margin) if len(smoothed) else np.zeros(0, bool)
        window_segments = [
            Segment(
                round(float(s), 3),
                round(float(e), 3),
                SILENCE if quiet else CLASS_NAMES[int(p.argmax())],
                _as_dict(p),
                bool(u) and not quiet,
            )
            for s, e, p, u, quiet in zip(starts_s, ends_s, smoothed, flagged, silent)
        ]
        best = int(overall.argmax())
        silent_s = float(durations[silent].sum())
        nearly_silent = bool(len(silent)) and silent_s >= SILENT_CLIP_SHARE * float(durations.sum())
        segments = merge_runs(window_segments, self.uncertain_margin)
        tracks = no_tracks()
        if self.layers is not None and heard is not None and heard.layers is not None:
            self.layers.describe(segments, heard.layers)
            tracks = self.layers.tracks(heard.layers, duration_s)
        return ClassificationResult(
            label=SILENCE if nearly_silent else CLASS_NAMES[best],
            confidence=round(float(overall[best]), 4),
            probabilities=_as_dict(overall),
            duration_s=round(duration_s, 3),
            model_version=self.version,
            segments=segments,
            windows=window_segments,
            uncertain=bool(is_uncertain(overall, self.uncertain_margin)[0]) and not nearly_silent,
            tracks=tracks,
        )


def window_means(per_patch: np.ndarray, starts_s: np.ndarray, ends_s: np.ndarray) -> np.ndarray:
    """Each window's mean over the patches whose centre lies in it (ml.pretrained.patch_windows)."""
    return np.stack(
        [per_patch[rows].mean(axis=0) for rows in patch_windows(len(per_patch), starts_s, ends_s)]
    )


def window_levels_dbfs(
    samples: np.ndarray,
    starts_s: np.ndarray,
    ends_s: np.ndarray,
    rate: int,
    offset: int = 0,
    total: int | None = None,
) -> np.ndarray:
    """RMS level of each window in dBFS (a full-scale sine is -3 dBFS). The energy is summed once
    per stretch between window edges, not per sample, so an hour costs one pass over the audio.
    `samples` may be a stretch of a longer recording (ml/streaming.py): the recording's sample
    `offset` is samples[0], and `total` its length so far; times are the recording's."""
    total = offset + len(samples) if total is None else total
    first = np.clip((starts_s * rate).astype(int), 0, total) - offset
    last = np.clip((ends_s * rate).astype(int), 0, total) - offset
    edges = np.unique(np.concatenate([[0], first, last, [len(samples)]]))
    stretches = (
        np.add.reduceat(np.square(samples, dtype=np.float64), edges[:-1]) if len(samples) else np.zeros(1)
    )
    energy_before = np.concatenate([[0.0], np.cumsum(stretches)])  # energy before each edge
    at = {edge: energy_before[i] for i, edge in enumerate(edges)}
    energy = np.array([at[b] - at[a] for a, b in zip(first, last)])
    mean_square = energy / np.maximum(last - first, 1)
    return 10 * np.log10(np.maximum(mean_square, 1e-12))
