"""A tiny training run end to end: the model it writes loads, predicts and evaluates."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml.inference import Classifier
from ml.streaming import classify_stream
from ml.training import evaluate, presets, train
from tests.audio_factory import chord, write

pytestmark = pytest.mark.slow  # trains networks: minutes on 2 cores


@pytest.mark.parametrize("preset", ["seed", "cnn", "cnn2d", "cnn2d-envelope", "cnn2d-yamnet"])
def test_a_tiny_training_run_writes_a_model_that_loads_and_predicts(tiny_corpus, tmp_path, preset, capsys):
    out = tmp_path / "model"
    assert (
        train.main(["--corpus", str(tiny_corpus), "--out", str(out), "--preset", preset, "--epochs", "2"])
        == 0
    )
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["class_names"] == ["music", "speech", "noise"]
    assert metadata["recipe"]["arch"] == metadata["arch"] and len(metadata["class_bias"]) == 3
    assert set(metadata["split"]["test"]).isdisjoint(metadata["split"]["train"])
    assert json.loads((out / "evaluation.json").read_text())["segments"]["table"]["macro avg"]
    assert (out / "model.tflite").stat().st_size > 0 and (out / "model.keras").stat().st_size > 0
    # The combined recipe fits its combiner on the validation sources, which the network never heard.
    assert ("combiner" in metadata) == (preset == "cnn2d-yamnet")

    result = classify_stream(Classifier.load(out), write(tmp_path / "new.wav", chord(5.0)))
    assert result.label in ("music", "speech", "noise")
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=0.01)

    assert (
        evaluate.main(["--corpus", str(tiny_corpus), "--model", str(out), "--json", str(tmp_path / "e.json")])
        == 0
    )
    assert "macro avg" in capsys.readouterr().out


def test_an_ensemble_saves_as_one_model_that_averages_its_members(tmp_path):
    import numpy as np

    from ml.training import networks as keras_models

    features = np.random.default_rng(0).random((16, 94, 58)).astype("float32")
    members = [keras_models.build("cnn", features) for _ in range(2)]
    ensemble = keras_models.average(members)
    expected = np.mean([np.asarray(m(features[:4], training=False)) for m in members], axis=0)
    ensemble.save(tmp_path / "model.keras")
    loaded = keras_models.load(tmp_path / "model.keras")
    np.testing.assert_allclose(keras_models.predict(loaded, features[:4]), expected, atol=1e-5)


def test_crossvalidation_scores_every_window_once_and_reports_what_bias_and_smoothing_bought(
    tiny_corpus, tmp_path
):
    import dataclasses

    from ml.training.crossval import crossvalidate
    from ml.training.outputs import FoldOutputs, summary

    quick = dataclasses.replace(
        presets.PRESETS["cnn2d"], ensemble=1, epochs=1, augment_passes=0, synthetic_noise_s=0
    )
    saved = tmp_path / "outputs.npz"
    evaluation = crossvalidate(tiny_corpus, quick, folds=2, seed=0, probabilities_out=saved)
    assert evaluation["segments"]["table"]["macro avg"]["support"] == 24  # one window per 1 s file
    assert evaluation["files"]["table"]["macro avg"]["support"] == 24
    assert len(evaluation["temperatures"]) == len(evaluation["class_biases"]) == 2
    for variant in ("without_class_bias", "without_smoothing"):
        assert set(evaluation[variant]) >= {"segment_macro_f1", "file_macro_f1", "mixture_macro_f1"}

    # The saved outputs, scored again offline (ml.research.rescore), give the run's own figures back.
    outputs = FoldOutputs.load(saved, evaluation)
    assert summary(outputs.score(quick.features)) == summary(evaluation)
    assert summary(outputs.score(quick.features, smoothing_windows=1)) == evaluation["without_smoothing"]


def test_the_shipped_recipe_trains_on_every_source_from_a_crossvalidation(tiny_corpus, tmp_path, monkeypatch):
    """`ml.training.train --from-crossval`: no source held out; epochs, calibration and the uncertainty
    margin taken from the cross-validation of the same preset."""
    import dataclasses
    import json

    from ml.inference import Classifier
    from ml.training.crossval import crossvalidate

    quick = dataclasses.replace(
        presets.PRESETS["cnn2d-yamnet"], epochs=2, augment_passes=0, synthetic_noise_s=0
    )
    monkeypatch.setitem(presets.PRESETS, "quick", quick)
    evaluation = crossvalidate(tiny_corpus, quick, folds=2, seed=0, probabilities_out=tmp_path / "cv.npz")
    evaluation["preset"] = "quick"
    (tmp_path / "cv.json").write_text(json.dumps(evaluation))
    out = tmp_path / "model"
    arguments = ["--corpus", str(tiny_corpus), "--out", str(out), "--preset", "quick"]
    assert (
        train.main([*arguments, "--from-crossval", str(tmp_path / "cv.json"), str(tmp_path / "cv.npz")]) == 0
    )
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["split"]["test"] == [] and len(metadata["split"]["train"]) == 12
    assert 0 <= metadata["uncertain_margin"] <= 0.5
    assert metadata["combiner"]["kind"] in ("mean", "logistic") and metadata["crossval_combined"]["all"]
    assert metadata["crossval"]["summary"]["segment_macro_f1"] == round(evaluation["segments"]["macro_f1"], 3)
    result = Classifier.load(out).classify_samples(np.zeros(16_000 * 3, np.float32) + 0.01)
    assert isinstance(result.uncertain, bool) and all(isinstance(s.uncertain, bool) for s in result.segments)
