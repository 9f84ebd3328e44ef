"""Augmentation keeps the sample rate, the rough length and finite values."""

from __future__ import annotations

import numpy as np
import pytest

from ml.training import augment
from ml.training.data import CorpusFile
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


@pytest.mark.parametrize("kind", sorted(augment.SYNTHETIC_NOISES))
def test_every_kind_of_synthetic_noise_is_bounded_audio_of_the_asked_length(kind):
    samples = augment.synthetic_noise(5.0, np.random.default_rng(0), {kind: 1.0})
    assert samples.dtype == np.float32 and len(samples) == 5 * 16_000
    assert np.isfinite(samples).all() and np.abs(samples).max() <= 1.0 and samples.std() > 0.005


def test_chirps_sit_above_the_speech_band_and_hum_below_it():
    def centroid(samples):
        power = np.abs(np.fft.rfft(samples)) ** 2
        return float((np.fft.rfftfreq(len(samples), 1 / 16_000) * power).sum() / power.sum())

    rng = np.random.default_rng(3)
    assert centroid(augment.chirps(16_000 * 4, rng)) > 1500
    assert centroid(augment.hum(16_000 * 4, rng)) < centroid(augment.chirps(16_000 * 4, rng))


def test_machinery_repeats_at_a_steady_period():
    rng = np.random.default_rng(5)
    envelope = np.abs(augment.machinery(16_000 * 6, rng)).reshape(-1, 160).mean(axis=1)  # 10 ms frames
    envelope -= envelope.mean()
    autocorrelation = np.correlate(envelope, envelope, "full")[len(envelope) - 1 :]
    lag = np.argmax(autocorrelation[15:]) + 15  # the strongest repeat beyond 150 ms
    assert autocorrelation[lag] > 0.3 * autocorrelation[0]
