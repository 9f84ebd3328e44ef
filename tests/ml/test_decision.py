"""Smoothing removes a one-window flicker but keeps a real change; calibration behaves."""

from __future__ import annotations

import numpy as np
import pytest

from ml.decision import (
    Calibration,
    calibrate,
    clip_probabilities,
    decide,
    expected_calibration_error,
    fit_temperature,
    smooth,
)
from ml.inference import Segment, merge_runs

MUSIC, SPEECH = [0.9, 0.05, 0.05], [0.05, 0.9, 0.05]


def test_smoothing_removes_a_one_window_flicker():
    windows = np.array([MUSIC, MUSIC, SPEECH, MUSIC, MUSIC])
    assert smooth(windows).argmax(axis=1).tolist() == [0, 0, 0, 0, 0]


def test_smoothing_keeps_a_real_change_of_class():
    windows = np.array([MUSIC] * 4 + [SPEECH] * 4)
    assert smooth(windows).argmax(axis=1).tolist() == [0] * 4 + [1] * 4


def test_the_clip_answer_is_duration_weighted():
    probabilities = np.array([MUSIC, SPEECH])
    overall = clip_probabilities(probabilities, np.array([3.0, 1.0]))
    assert overall.argmax() == 0 and overall.sum() == pytest.approx(1.0)


def test_temperature_scaling_softens_overconfident_probabilities():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 2000)
    # Right only 60% of the time, yet always 99% sure.
    guesses = np.where(rng.random(2000) < 0.6, labels, (labels + 1) % 3)
    overconfident = np.full((2000, 3), 0.005)
    overconfident[np.arange(2000), guesses] = 0.99
    temperature = fit_temperature(overconfident, labels)
    assert temperature > 1.5
    before = expected_calibration_error(overconfident, labels)
    after = expected_calibration_error(calibrate(overconfident, temperature), labels)
    assert after < before / 3


def test_a_class_bias_recovers_a_class_the_network_undersells():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 3000)
    # Noise windows look like noise, but only faintly: the network gives them 0.3 against 0.35.
    probabilities = np.where(labels[:, None] == np.arange(3), 0.8, 0.1)
    probabilities[labels == 2] = [0.35, 0.35, 0.3]
    assert (probabilities[labels == 2].argmax(axis=1) == 2).mean() == 0
    calibration = Calibration.fit(probabilities, labels, class_bias=True)
    assert calibration.class_bias[0] == 0 and calibration.class_bias[2] > 0
    recalled = calibration.apply(probabilities).argmax(axis=1)
    assert (recalled[labels == 2] == 2).mean() == 1 and (recalled[labels != 2] == labels[labels != 2]).all()


def test_calibration_round_trips_through_model_metadata_and_defaults_to_identity():
    calibration = Calibration(1.7, (0.0, 0.4, -0.2))
    metadata = {"temperature": calibration.temperature, "class_bias": list(calibration.class_bias)}
    assert Calibration.from_metadata(metadata) == calibration
    probabilities = np.array([MUSIC, SPEECH])
    np.testing.assert_allclose(Calibration.from_metadata({}).apply(probabilities), probabilities)


def test_calibration_without_held_out_windows_of_every_class_fits_no_bias():
    assert Calibration.fit(np.zeros((0, 3)), np.zeros(0, dtype=int), class_bias=True) == Calibration()
    probabilities, labels = np.array([MUSIC, SPEECH] * 20), np.array([0, 1] * 20)
    assert not any(Calibration.fit(probabilities, labels, class_bias=True).class_bias)


def test_decide_returns_window_and_clip_probabilities():
    windows, overall = decide(np.array([MUSIC] * 3), np.ones(3))
    assert windows.shape == (3, 3) and overall.argmax() == 0


def test_merging_joins_neighbours_of_one_label_and_hands_over_mid_overlap():
    p = {"music": 0.8, "speech": 0.1, "noise": 0.1}
    q = {"music": 0.1, "speech": 0.8, "noise": 0.1}
    runs = merge_runs([Segment(0, 3, "music", p), Segment(1.5, 4.5, "music", p), Segment(3, 6, "speech", q)])
    assert [(r.start, r.end, r.label) for r in runs] == [(0, 3.75, "music"), (3.75, 6, "speech")]


def test_the_uncertain_flag_is_raised_only_when_the_top_two_classes_are_close():
    from ml.decision import is_uncertain

    ambiguous = np.array([[0.08, 0.47, 0.45]])  # a cow lowing: speech 47 %, noise 45 %
    clear = np.array([[0.02, 0.95, 0.03]])
    assert is_uncertain(ambiguous, 0.2).tolist() == [True]
    assert is_uncertain(clear, 0.2).tolist() == [False]
    assert is_uncertain(np.array([0.4, 0.35, 0.25]), 0.1).tolist() == [True]  # one row as a vector


def test_a_merged_segment_is_uncertain_when_its_windows_hesitate_on_average():
    from ml.inference import Segment, merge_runs

    windows = [
        Segment(0.0, 3.0, "speech", {"music": 0.05, "speech": 0.5, "noise": 0.45}),
        Segment(1.5, 4.5, "speech", {"music": 0.05, "speech": 0.52, "noise": 0.43}),
        Segment(3.0, 6.0, "music", {"music": 0.9, "speech": 0.05, "noise": 0.05}),
    ]
    runs = merge_runs(windows, uncertain_margin=0.2)
    assert [(r.label, r.uncertain) for r in runs] == [("speech", True), ("music", False)]


@pytest.mark.parametrize("windows", [2, 3, 5])
def test_smoothing_is_scipys_median_filter(windows):
    from scipy.ndimage import median_filter

    probabilities = np.random.default_rng(windows).dirichlet(np.ones(3), 40).astype(np.float32)
    expected = median_filter(probabilities, size=(windows, 1), mode="nearest")
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(smooth(probabilities, windows), expected, atol=1e-6)
