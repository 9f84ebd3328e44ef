"""A trained model's metadata is made from what was read when training began: the corpus's
fingerprint is taken before the hours of training, so a corpus that changes during a run cannot
fail it at its end (issue 27)."""

from __future__ import annotations

import time

from ml.decision import Calibration
from ml.training.fitting import model_metadata
from ml.training.presets import DEFAULT_PRESET, PRESETS


def test_metadata_takes_the_fingerprint_it_is_given_and_reads_no_file():
    calibration = Calibration(1.0, (0.0, 0.0, 0.0))
    metadata = model_metadata(
        DEFAULT_PRESET, PRESETS[DEFAULT_PRESET], "0123456789abcdef", calibration, {}, 0, time.monotonic()
    )
    assert metadata["corpus_fingerprint"] == "0123456789abcdef"
    assert "-012345-" in metadata["model_version"]
