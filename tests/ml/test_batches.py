"""Batch-level augmentation keeps shapes, blanks only what it says and keeps targets distributions."""

from __future__ import annotations

import numpy as np
import pytest

from ml.training.batches import training_batches

tf = pytest.importorskip("tensorflow")


def batches_of(features, **options):
    labels = np.arange(len(features)) % 3
    weights = np.ones(len(features), dtype=np.float32)
    return list(training_batches(features, labels, weights, batch_size=16, seed=0, **options))


def test_plain_batches_carry_every_window_once_with_one_hot_targets():
    features = np.random.default_rng(0).normal(size=(40, 94, 58)).astype(np.float32)
    batches = batches_of(features)
    assert sum(len(x) for x, _, _ in batches) == 40
    stacked = np.concatenate([x.numpy() for x, _, _ in batches])
    assert sorted(stacked[:, 0, 0]) == sorted(features[:, 0, 0])
    targets = np.concatenate([y.numpy() for _, y, _ in batches])
    assert set(np.unique(targets)) == {0.0, 1.0} and np.allclose(targets.sum(axis=1), 1)


def test_spec_augment_blanks_whole_frames_and_columns_and_nothing_else():
    features = np.ones((64, 94, 58), dtype=np.float32)
    x = np.concatenate([x.numpy() for x, _, _ in batches_of(features, spec_augment_on=True)])
    assert x.shape == features.shape
    assert set(np.unique(x)) <= {0.0, 1.0} and 0 < (x == 0).mean() < 0.5
    for window in x:
        blank_frames = (window == 0).all(axis=1)
        blank_columns = (window == 0).all(axis=0)
        # Every zero lies in a blanked frame or a blanked column.
        assert ((window == 0) == (blank_frames[:, None] | blank_columns[None, :])).all()


def test_mixup_blends_features_and_targets_by_the_same_bounded_weight():
    features = np.repeat(np.arange(3, dtype=np.float32), 16)[:, None, None] * np.ones((1, 4, 2), np.float32)
    labels = np.repeat(np.arange(3), 16)
    batches = training_batches(features, labels, np.ones(48, np.float32), 48, seed=1, mixup_strength=0.3)
    x, y, _ = next(iter(batches))
    x, y = x.numpy(), y.numpy()
    assert np.allclose(y.sum(axis=1), 1) and y.max(axis=1).min() >= 0.7 - 1e-6
    # A window's value is its own class index blended like its target: sum(p_k * k).
    assert np.allclose(x[:, 0, 0], y @ np.arange(3), atol=1e-5)


def test_drawing_by_weight_gives_each_source_its_share_whatever_its_size():
    from ml.training.data import CorpusFile, WindowSet, source_balanced_weights

    # One class, two sources: 300 short effects against 3 windows of long recordings.
    sources = np.array(["noise/effects"] * 300 + ["noise/field"] * 3, dtype=object)
    labels = np.full(303, 2)
    features = (sources == "noise/field").astype(np.float32)[:, None, None] * np.ones((1, 2, 2), np.float32)
    windows = WindowSet(features, labels, np.arange(303), sources, [CorpusFile(__file__, "noise", "noise/x")])
    weights = source_balanced_weights(windows)
    assert weights[sources == "noise/field"].sum() == pytest.approx(weights[sources == "noise/effects"].sum())

    drawn = []
    for _ in range(10):  # ten epochs, each drawn afresh
        for x, _targets, w in training_batches(features, labels, weights, 64, seed=3, draw_by_weight=True):
            drawn.append(x.numpy()[:, 0, 0])
            assert np.all(w.numpy() == 1)
    share_of_field = np.concatenate(drawn).mean()
    assert share_of_field == pytest.approx(0.5, abs=0.05)  # not 3 in 303
