"""Augmentation keeps the sample rate, the rough length and finite values."""

from __future__ import annotations

import numpy as np
import pytest

from ml import augment
from ml.data import CorpusFile
from tests.audio_factory import chord, white_noise


@pytest.mark.parametrize("name", ["gain", "telephone", "reverberate", "change_speed", "codec_round_trip"])
def test_each_transform_keeps_audio_usable(name):
    rng = np.random.default_rng(0)
    samples = chord(3.0)
    function = getattr(augment, name)
    result = function(samples, rng) if name in {"gain", "reverberate", "change_speed"} else function(samples)
    assert result.dtype == np.float32 and np.isfinite(result).all()
    assert len(result) == pytest.approx(len(samples), rel=0.12)


def test_mixing_hits_the_requested_snr():
    signal, noise = chord(2.0), white_noise(1.0)
    mixed = augment.mix(signal, noise, snr_db=10)
    added = mixed - signal
    snr = 10 * np.log10(np.mean(signal**2) / np.mean(added**2))
    assert snr == pytest.approx(10, abs=0.1)


def test_the_augmenter_is_deterministic_per_file(tmp_path):
    from tests.audio_factory import write

    noise_file = CorpusFile(write(tmp_path / "n.flac", white_noise(2.0)), "noise", "noise/x")
    augmenter = augment.Augmenter([noise_file], seed=1)
    target = CorpusFile(tmp_path / "m.flac", "music", "music/y")
    first, second = augmenter(chord(3.0), target), augmenter(chord(3.0), target)
    np.testing.assert_array_equal(first, second)


def test_synthetic_noise_is_noise_shaped_audio():
    samples = augment.synthetic_noise(5.0, np.random.default_rng(0))
    assert len(samples) == 5 * 16_000 and np.abs(samples).max() <= 1.0 and samples.std() > 0.005
