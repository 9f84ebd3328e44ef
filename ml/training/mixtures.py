"""Recordings that change class: the timeline's own test.

Corpus files hold one class each, but users upload podcasts with music beds and videos with
street noise between speech. A mixture here is 3 to 5 pieces (4-12 s each, never the same class
twice in a row) of held-out files put end to end; each window's truth is the class that covers
most of it. Scoring mixtures says whether features and smoothing still work where the class
changes within a file.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ml import CLASS_NAMES
from ml.audio import SAMPLE_RATE, AudioDecodeError, decode
from ml.features import FeatureSettings, extract
from ml.training.data import CorpusFile, WindowSet


def build_mixture(
    files_by_label: dict[str, Sequence[CorpusFile]], rng: np.random.Generator, cache: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Audio and, per sample, the index of its class."""
    pieces, truth, previous = [], [], None
    for _ in range(rng.integers(3, 6)):
        label = rng.choice([name for name in files_by_label if name != previous and files_by_label[name]])
        files = files_by_label[label]
        path = files[int(rng.integers(len(files)))].path
        if path not in cache:
            try:
                cache[path] = decode(path).samples
            except AudioDecodeError:
                cache[path] = np.zeros(0, dtype=np.float32)
        samples = cache[path]
        if len(samples) < SAMPLE_RATE:
            continue
        length = min(len(samples), int(rng.uniform(4, 12) * SAMPLE_RATE))
        start = rng.integers(0, len(samples) - length + 1)
        piece = samples[start : start + length]
        pieces.append(piece / (np.max(np.abs(piece)) + 1e-9) * rng.uniform(0.2, 0.9))
        truth.append(np.full(length, CLASS_NAMES.index(label)))
        previous = label
    return np.concatenate(pieces).astype(np.float32), np.concatenate(truth)


def mixture_windows(
    files: Sequence[CorpusFile], settings: FeatureSettings, count: int, seed: int = 0
) -> WindowSet:
    """`count` mixtures of `files`, cut into windows labelled by majority class."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, Sequence[CorpusFile]] = {
        label: [f for f in files if f.label == label] for label in CLASS_NAMES
    }
    cache: dict = {}
    features, labels, file_ids = [], [], []
    for mixture in range(count):
        samples, truth = build_mixture(by_label, rng, cache)
        windows = extract(samples, settings)
        for start, end in zip(windows.starts_s, windows.ends_s):
            covered = truth[
                int(start * SAMPLE_RATE) : max(int(end * SAMPLE_RATE), int(start * SAMPLE_RATE) + 1)
            ]
            labels.append(np.bincount(covered, minlength=len(CLASS_NAMES)).argmax())
        features.append(windows.features)
        file_ids.append(np.full(len(windows.features), mixture))
    stacked = np.concatenate(features)
    return WindowSet(
        features=stacked,
        labels=np.array(labels),
        file_ids=np.concatenate(file_ids),
        sources=np.full(len(stacked), "mixture", dtype=object),
        files=[CorpusFile(files[0].path, CLASS_NAMES[0], "mixture") for _ in range(count)],
    )
