"""The model shipped in ml/artifacts classifies real recordings from held-out sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml.inference import DEFAULT_MODEL_DIR, Classifier

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


@pytest.mark.parametrize(
    "name, label",
    [
        ("music.flac", "music"),
        ("speech.flac", "speech"),
        ("noise-rain.flac", "noise"),
        # A known weakness, kept visible: a steady water loop sounds like ambient music to the
        # model (see ml/MODEL_CARD.md). Strict, so a model that fixes it makes this test say so.
        pytest.param(
            "noise.flac", "noise", marks=pytest.mark.xfail(strict=True, reason="river loop heard as music")
        ),
    ],
)
def test_the_shipped_model_labels_real_fixtures(classifier, name, label):
    result = classifier.classify(FIXTURES / name)
    assert result.label == label, result.probabilities
    assert result.segments and result.segments[-1].end == pytest.approx(result.duration_s, abs=0.01)


def test_the_fixtures_come_from_sources_the_model_never_trained_on():
    split = json.loads((DEFAULT_MODEL_DIR / "metadata.json").read_text())["split"]
    for source in ("music/singularity", "speech/speechbrain-asr", "noise/supertuxkart-sfx"):
        assert source in split["test"] and source not in split["train"] + split["validation"]


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
    } <= set(metadata)
