"""The context model reads a window's neighbours, never across files, and learns from them."""

from __future__ import annotations

import numpy as np

from ml.research.context import ContextModel, context_features


def test_neighbours_come_only_from_the_same_file():
    probabilities = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    features = context_features(probabilities, np.array([0, 0, 1]), reach=1)
    # Columns: left neighbour (3) + its presence (1), itself (3), right neighbour (3) + presence (1).
    assert features.shape == (3, 11)
    assert features[1, 10] == 0 and np.all(features[1, 7:10] == 0)  # window 2's right is another file
    assert features[0, 3] == 0 and features[1, 3] == 1  # the first window has no left neighbour


def test_a_context_model_learns_to_overrule_a_window_its_neighbours_contradict():
    rng = np.random.default_rng(0)
    truth = np.repeat(rng.integers(0, 3, 60), 8)  # 60 files of 8 windows, one class each
    file_ids = np.repeat(np.arange(60), 8)
    probabilities = np.full((len(truth), 3), 0.1)
    probabilities[np.arange(len(truth)), truth] = 0.8
    flipped = rng.random(len(truth)) < 0.2  # a fifth of the windows say a wrong class
    wrong = (truth + rng.integers(1, 3, len(truth))) % 3
    probabilities[flipped] = 0.1
    probabilities[flipped, wrong[flipped]] = 0.8
    model = ContextModel.fit(probabilities, truth, file_ids)
    before = (probabilities.argmax(axis=1) == truth).mean()
    after = (model.apply(probabilities, file_ids).argmax(axis=1) == truth).mean()
    assert before < 0.85 and after > 0.95
    restored = ContextModel.from_dict(model.to_dict())
    assert np.allclose(
        restored.apply(probabilities, file_ids), model.apply(probabilities, file_ids), atol=1e-4
    )
