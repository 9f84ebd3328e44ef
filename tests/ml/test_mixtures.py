"""Mixtures for the timeline test: pieces of different classes, windows labelled by majority."""

from __future__ import annotations

import numpy as np

from ml.features import FeatureSettings
from ml.training.data import scan_corpus
from ml.training.mixtures import build_mixture, mixture_windows


def test_a_mixture_never_repeats_a_class_back_to_back(tiny_corpus):
    files = scan_corpus(tiny_corpus)
    by_label = {label: [f for f in files if f.label == label] for label in ("music", "speech", "noise")}
    samples, truth = build_mixture(by_label, np.random.default_rng(0), {})
    assert len(samples) == len(truth)
    changes = truth[np.flatnonzero(np.diff(truth)) + 1]
    runs = np.concatenate([[truth[0]], changes])
    assert len(runs) >= 2 and all(a != b for a, b in zip(runs, runs[1:]))


def test_mixture_windows_carry_one_label_per_window(tiny_corpus):
    windows = mixture_windows(scan_corpus(tiny_corpus), FeatureSettings(kind="stats"), count=3, seed=1)
    assert len(windows.features) == len(windows.labels) == len(windows.file_ids)
    assert set(np.unique(windows.file_ids)) == {0, 1, 2}
    assert set(np.unique(windows.labels)) <= {0, 1, 2}
