"""The model shipped in ml/models/mfcc classifies real recordings, says when it hesitates, and
carries the cross-validated figures of its recipe.

It was trained on every source of the corpus, the fixtures' included: these tests check the
shipped file and the whole decoding and decision path on real audio. How well the recipe does on
sources it never heard is its cross-validation (ml/results/crossval-cnn2d-sources.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml.inference import DEFAULT_MODEL_DIR, Classifier
from ml.streaming import classify_stream

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RESULTS = Path(__file__).resolve().parents[2] / "ml" / "results"  # cross-validation outputs


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


@pytest.mark.parametrize(
    "name, label",
    [
        ("music.flac", "music"),
        ("speech.flac", "speech"),
        ("noise-rain.flac", "noise"),
        # A steady river loop: the 1-D CNN heard it as ambient music (ml/MODEL_CARD.md).
        ("noise.flac", "noise"),
    ],
)
def test_the_shipped_model_labels_real_fixtures(classifier, name, label):
    result = classify_stream(classifier, FIXTURES / name)
    assert result.label == label, result.probabilities
    assert result.segments and result.segments[-1].end == pytest.approx(result.duration_s, abs=0.01)


def test_a_clear_recording_is_not_flagged_uncertain(classifier):
    result = classify_stream(classifier, FIXTURES / "speech.flac")
    assert result.uncertain is False and not any(s.uncertain for s in result.segments)


def test_the_shipped_model_was_trained_on_every_source_with_its_recipes_cross_validation():
    metadata = json.loads((DEFAULT_MODEL_DIR / "metadata.json").read_text())
    assert metadata["split"]["test"] == [] and metadata["split"]["validation"] == []
    from ml.training.presets import PRESETS

    crossval = json.loads((RESULTS / metadata["crossval"]["file"]).read_text())
    assert PRESETS[crossval["preset"]].network_recipe() == PRESETS[metadata["preset"]].network_recipe()
    assert metadata["crossval"]["summary"]["segment_macro_f1"] == round(crossval["segments"]["macro_f1"], 3)
    assert 0 < metadata["uncertain_margin"] < 0.5


def test_the_shipped_model_combines_both_networks_as_its_cross_validation_chose():
    metadata = json.loads((DEFAULT_MODEL_DIR / "metadata.json").read_text())
    report = json.loads((RESULTS / f"combined-{metadata['preset']}.json").read_text())
    assert metadata["combiner"] == report["combiner"]
    assert metadata["crossval_combined"]["real-world"] == {
        key: report["models"]["combined"]["real-world"][key]
        for key in metadata["crossval_combined"]["real-world"]
    }
    assert (DEFAULT_MODEL_DIR / "model.tflite").stat().st_size + (
        DEFAULT_MODEL_DIR.parent / "yamnet" / "yamnet.tflite"
    ).stat().st_size + (DEFAULT_MODEL_DIR / "model.keras").stat().st_size < 10 * 1024 * 1024


def test_the_shipped_model_is_small_and_documented():
    assert (DEFAULT_MODEL_DIR / "model.keras").stat().st_size < 5 * 1024 * 1024
    metadata = json.loads((DEFAULT_MODEL_DIR / "metadata.json").read_text())
    assert {
        "model_version",
        "features",
        "class_names",
        "corpus_fingerprint",
        "split",
        "seed",
        "libraries",
        "recipe",
        "temperature",
        "class_bias",
        "uncertain_margin",
        "crossval",
    } <= set(metadata)


def test_a_pause_in_speech_is_silence_on_the_timeline_and_the_clip_stays_speech(classifier):
    import soundfile

    speech, rate = soundfile.read(FIXTURES / "speech.flac", dtype="float32")
    samples = np.concatenate([speech, speech, np.zeros(5 * rate, np.float32), speech, speech])
    result = classifier.classify_samples(samples)
    assert result.label == "speech", result.probabilities
    labels = [s.label for s in result.segments]
    assert "silence" in labels[1:-1] and labels[0] == labels[-1] == "speech", labels
    pause = next(s for s in result.segments if s.label == "silence")
    assert 6.4 <= pause.start <= 8.5 and 9.0 <= pause.end <= 11.5 and not pause.uncertain


def test_a_clip_that_is_nearly_all_silence_says_so(classifier):
    samples = np.zeros(16_000 * 20, np.float32)
    samples[:8000] = 0.2 * np.sin(np.arange(8000) / 5)  # half a second of tone, then nothing
    result = classifier.classify_samples(samples)
    assert result.label == "silence" and not result.uncertain
