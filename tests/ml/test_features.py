"""ml.features: window layout, shapes, determinism, and the seed's short-file bug fixed."""

from __future__ import annotations

import numpy as np
import pytest

from ml.features import FeatureSettings, extract
from tests.audio_factory import chord, white_noise


@pytest.mark.parametrize("kind, shape", [("seed", (13,)), ("stats", (52,)), ("frames", (94, 26))])
def test_each_kind_yields_one_row_per_window(kind, shape):
    windows = extract(chord(10.0), FeatureSettings(kind=kind))
    assert windows.features.shape[1:] == shape
    # 3 s windows every 1.5 s over 10 s: 0, 1.5, ... 6.0, plus one aligned to the end.
    assert len(windows.features) == 6
    assert windows.starts_s[0] == 0
    assert windows.ends_s[-1] == pytest.approx(10.0)
    assert np.isfinite(windows.features).all()


def test_a_file_shorter_than_one_window_still_yields_one_finite_window():
    windows = extract(chord(1.2), FeatureSettings(kind="stats"))
    assert windows.features.shape == (1, 52)
    assert np.isfinite(windows.features).all()
    assert windows.ends_s[0] == pytest.approx(1.2)


def test_features_are_deterministic():
    settings = FeatureSettings(kind="frames", normalise="recording")
    first = extract(white_noise(5.0), settings).features
    second = extract(white_noise(5.0), settings).features
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("normalise", ["recording", "window", "envelope"])
def test_normalisation_removes_a_constant_gain(normalise):
    settings = FeatureSettings(kind="frames", normalise=normalise, log_mel_bands=32)
    quiet = extract(chord(5.0) * 0.1, settings).features
    loud = extract(chord(5.0), settings).features
    np.testing.assert_allclose(quiet, loud, atol=1e-2)


@pytest.mark.parametrize("normalise", ["window", "envelope"])
def test_window_normalisation_does_not_depend_on_the_rest_of_the_file(normalise):
    settings = FeatureSettings(kind="frames", normalise=normalise, log_mel_bands=32)
    alone = extract(chord(6.0), settings).features[0]
    followed = extract(np.concatenate([chord(6.0), white_noise(6.0)]), settings).features[0]
    np.testing.assert_allclose(alone, followed, atol=1e-3)


def test_envelope_normalisation_keeps_a_held_chord_apart_from_steady_noise():
    """Under `window` both flatten to fluctuations around zero; `envelope` keeps the chord's
    peaks across bands, and still ignores a smooth tilt of the spectrum (a recording chain)."""

    def spectral_peakiness(samples: np.ndarray, normalise: str) -> float:
        settings = FeatureSettings(kind="frames", normalise=normalise, log_mel_bands=32)
        mel = extract(samples, settings).features[0, :, -32:]
        return float(np.abs(mel.mean(axis=0)).mean())

    held_chord, steady_noise = chord(4.0), white_noise(4.0)
    chord_peaks = spectral_peakiness(held_chord, "envelope")
    assert spectral_peakiness(held_chord, "window") < 1e-3
    assert chord_peaks > 5 * spectral_peakiness(steady_noise, "envelope")
    tilted_noise = np.diff(steady_noise, prepend=0.0).astype(np.float32)  # +6 dB per octave
    assert chord_peaks > 5 * spectral_peakiness(tilted_noise, "envelope")


def test_settings_round_trip_through_metadata():
    settings = FeatureSettings(kind="frames", normalise="window")
    assert FeatureSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(ValueError):
        FeatureSettings(kind="spectrogram")
    with pytest.raises(ValueError):
        FeatureSettings(normalise="sometimes")


@pytest.mark.parametrize("name", ["speech.flac", "music.flac", "noise.flac"])
def test_the_numpy_front_end_computes_librosas_features_on_real_audio(name):
    """ml/spectrum.py keeps librosa off the serving path (its import costs seconds of cold start);
    it must give librosa's numbers."""
    import librosa

    from ml import spectrum
    from ml.audio import decode
    from tests.conftest import FIXTURES

    samples = decode(FIXTURES / name).samples
    reference = librosa.power_to_db(
        librosa.feature.melspectrogram(y=samples, sr=16_000, n_fft=1024, hop_length=512, n_mels=128)
    )
    decibels = spectrum.log_mel(samples, 16_000, 1024, 512, 128)
    np.testing.assert_allclose(decibels, reference, atol=1e-3)
    reference_mfcc = librosa.feature.mfcc(S=reference, n_mfcc=13)
    np.testing.assert_allclose(spectrum.mfcc(decibels, 13), reference_mfcc, atol=1e-3)
    np.testing.assert_allclose(
        spectrum.delta(reference_mfcc, 9),
        librosa.feature.delta(reference_mfcc, width=9, mode="nearest"),
        atol=1e-4,
    )
