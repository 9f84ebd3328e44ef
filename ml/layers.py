"""Layered answers from the pretrained network's patches: where speech is heard and where music is
heard (two tracks that may overlap, with music's level under the speech), the family of every
segment (ml/families.py), and the network's own AudioSet tags.

The tracks come from small heads over YAMNet's last layer, read at each third of a 0.975 s patch
(the patches the combiner already runs, so the layers cost a few matrix products): logistic
models for speech and music, a linear one for the level, fitted on mixtures made from the corpus
(ml/training/layers.py says how and reports their held-out figures). Families and tags are read
from the network's own AudioSet classes (ml/family_map.py). Plain NumPy: no TensorFlow, no
scikit-learn.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from ml import family_map
from ml.families import FAMILIES, FAMILY_CLASS
from ml.pretrained import CLASS_MAP_FILE, THIRD_S, THIRDS, PatchOutputs, patch_windows
from ml.pretrained import DEFAULT_FOLDER as PRETRAINED_FOLDER

HEADS_FILE = "heads.npz"
DEFAULT_FOLDER = Path(__file__).resolve().parent / "models" / "layers"
TAGS = 3  # AudioSet classes named per segment
MIN_TAG_SCORE = 0.05


def smooth_tracks(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """Per patch, heard or not: the mean of each patch and its neighbours over the threshold, so
    one hesitant patch neither breaks a track nor starts one."""
    if len(probabilities) < 3:
        return probabilities > threshold
    padded = np.concatenate([probabilities[:1], probabilities, probabilities[-1:]])
    return (padded[:-2] + padded[1:-1] + padded[2:]) / 3 > threshold


def runs(heard: np.ndarray) -> list[tuple[int, int]]:
    """[first, last+1) patch ranges where `heard` holds."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], heard.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


@dataclass
class PatchLayers:
    """The heads' outputs per third of a patch (ml.pretrained.THIRD_S): speech and music
    probabilities and music's level under the speech (dB); and per patch the network's own class
    scores, which name the families and tags (float16: a six-hour recording keeps 23 MB)."""

    speech: np.ndarray
    music: np.ndarray
    level_db: np.ndarray
    scores: np.ndarray  # (patches, 521)

    @classmethod
    def joined(cls, pieces: list[PatchLayers]) -> PatchLayers:
        return cls(*(np.concatenate([getattr(p, f.name) for p in pieces]) for f in fields(cls)))


class Layers:
    def __init__(self, folder: str | Path = DEFAULT_FOLDER, class_map: str | Path | None = None):
        heads = np.load(Path(folder) / HEADS_FILE)
        self.tracks_mean, self.tracks_scale = heads["tracks_mean"], heads["tracks_scale"]
        self.tracks_weights, self.tracks_bias = heads["tracks_weights"], heads["tracks_bias"]
        self.level_weights, self.level_bias = heads["level_weights"], heads["level_bias"]
        self.speech_threshold, self.music_threshold = (float(t) for t in heads["thresholds"])
        with open(class_map or PRETRAINED_FOLDER / CLASS_MAP_FILE, newline="") as handle:
            self.class_names = [row["display_name"] for row in csv.DictReader(handle)]

    def patch_layers(self, outputs: PatchOutputs) -> PatchLayers:
        x = np.hstack([outputs.thirds, np.repeat(outputs.embedding, THIRDS, axis=0)])
        x = (x - self.tracks_mean) / self.tracks_scale
        tracks = 1 / (1 + np.exp(-(x @ self.tracks_weights.T + self.tracks_bias)))
        level = x @ self.level_weights + self.level_bias[0]
        return PatchLayers(tracks[:, 0], tracks[:, 1], level, outputs.scores.astype(np.float16))

    def tracks(self, layers: PatchLayers, duration_s: float) -> dict[str, list[dict[str, Any]]]:
        """Where speech and music are heard, in seconds; a music span's `level_db` is its level
        relative to the speech over the patches where both are heard (absent where none are)."""
        speech = smooth_tracks(layers.speech, self.speech_threshold)
        music = smooth_tracks(layers.music, self.music_threshold)

        def span(first: int, last: int) -> dict[str, Any]:
            return {"start": round(first * THIRD_S, 3), "end": round(min(last * THIRD_S, duration_s), 3)}

        music_spans = []
        for first, last in runs(music):
            entry = span(first, last)
            under = speech[first:last]
            if under.any():
                entry["level_db"] = round(float(np.median(layers.level_db[first:last][under])), 1)
            music_spans.append(entry)
        return {"speech": [span(a, b) for a, b in runs(speech)], "music": music_spans}

    def describe(self, segments: list[Any], layers: PatchLayers) -> None:
        """Give each segment of sound its family and tags (a silent one has neither)."""
        patch_count = len(layers.scores)
        starts = np.array([segment.start for segment in segments])
        ends = np.array([segment.end for segment in segments])
        for segment, rows in zip(segments, patch_windows(patch_count, starts, ends) if patch_count else []):
            if segment.label in FAMILY_CLASS.values():
                segment.family = self.family(layers, rows, segment.label)
                segment.tags = self.tags(layers, rows)

    def family(self, layers: PatchLayers, rows: np.ndarray, class_name: str) -> str:
        """The segment's family among its class's families (so it never contradicts the class),
        read from the network's own classes by the AudioSet ontology (ml/family_map.py)."""
        allowed = [i for i, name in enumerate(FAMILIES) if FAMILY_CLASS[name] == class_name]
        return FAMILIES[family_map.choose(layers.scores[rows].astype(np.float32).mean(axis=0), allowed)]

    def tags(self, layers: PatchLayers, rows: np.ndarray) -> list[dict[str, Any]]:
        """The network's own strongest AudioSet classes over the segment, with their mean scores."""
        mean = layers.scores[rows].astype(np.float32).mean(axis=0)
        best = np.argsort(-mean)[:TAGS]
        return [
            {"name": self.class_names[i], "score": round(float(mean[i]), 3)}
            for i in best
            if mean[i] >= MIN_TAG_SCORE
        ]
