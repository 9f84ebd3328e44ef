"""Serving runs both networks as TensorFlow Lite under LiteRT: the same answers as Keras, without
TensorFlow in the process."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ml.audio import decode
from ml.features import FeatureSettings, extract
from ml.inference import DEFAULT_MODEL_DIR
from ml.network import MODEL_FILE, Network
from tests.conftest import FIXTURES, ROOT

# float32 kernels differ between TensorFlow and LiteRT (fused ops, XNNPACK): about 1e-6 is typical.
TOLERANCE = 1e-4


@pytest.mark.parametrize("name", ["music.flac", "speech.flac", "noise.flac", "noise-rain.flac"])
def test_the_converted_network_answers_as_keras_on_real_audio(name):
    from ml.training import networks

    metadata = json.loads((DEFAULT_MODEL_DIR / "metadata.json").read_text())
    features = extract(
        decode(FIXTURES / name).samples, FeatureSettings.from_dict(metadata["features"])
    ).features
    keras_model = networks.load(DEFAULT_MODEL_DIR / networks.KERAS_FILE)
    served = Network(DEFAULT_MODEL_DIR / MODEL_FILE).predict(features)
    np.testing.assert_allclose(served, networks.predict(keras_model, features), atol=TOLERANCE)
    assert served.shape == (len(features), 3)


def test_classifying_with_tracks_and_families_imports_no_tensorflow_pytorch_or_scikit_learn():
    code = (
        "import sys; from ml.inference import Classifier; from ml.streaming import classify_stream; "
        "result = classify_stream(Classifier.load(), 'tests/fixtures/speech.flac'); "
        "banned = ('tensorflow', 'keras', 'tf_keras', 'torch', 'sklearn'); "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in banned); "
        "print(result.label, loaded)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "speech" and done.stdout.strip().endswith("[]"), done.stdout
