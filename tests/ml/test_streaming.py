"""Streaming classification (ml/streaming.py) against the whole-file path: a recording of one
block is classified exactly as before; a longer one, cut into blocks at any length, gets the same
window labels and timeline, with probabilities within STREAMING_TOLERANCE (the only difference:
the log-mel floor, 80 dB under the loudest cell, is taken per block)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile

from ml.inference import Classifier
from ml.streaming import classify_stream
from tests.conftest import FIXTURES

STREAMING_TOLERANCE = 0.02  # largest difference of any window probability seen: 0.012


@pytest.fixture(scope="module")
def classifier():
    return Classifier.load()


@pytest.fixture(scope="module")
def seventy_seconds(tmp_path_factory):
    """The real fixtures in a shuffled order, a 3 s pause, then each once more: 70 s of speech,
    music, noise and rain (the block tests below cut it into 5 to 10 blocks)."""
    parts = [
        soundfile.read(FIXTURES / name, dtype="float32")[0]
        for name in ("speech.flac", "music.flac", "noise.flac", "noise-rain.flac")
    ]
    order = np.random.default_rng(0).integers(0, 4, 14)
    signal = np.concatenate([parts[i] for i in order] + [np.zeros(3 * 16_000, np.float32)] + parts)
    path = tmp_path_factory.mktemp("long") / "seventy.flac"
    soundfile.write(path, signal, 16_000)
    return path


def probabilities(windows) -> np.ndarray:
    return np.array([[w.probabilities[name] for name in ("music", "speech", "noise")] for w in windows])


@pytest.mark.parametrize("block_s", [7.0, 10.0, 13.3])
def test_a_recording_in_blocks_gets_the_whole_file_answer(classifier, seventy_seconds, block_s):
    whole = classify_stream(classifier, seventy_seconds, block_s=math.inf)  # the whole-file path
    streamed = classify_stream(classifier, seventy_seconds, block_s=block_s)
    assert [(w.start, w.end) for w in streamed.windows] == [(w.start, w.end) for w in whole.windows]
    assert [w.label for w in streamed.windows] == [w.label for w in whole.windows]
    assert [(s.start, s.end, s.label) for s in streamed.segments] == [
        (s.start, s.end, s.label) for s in whole.segments
    ]
    assert np.abs(probabilities(streamed.windows) - probabilities(whole.windows)).max() < STREAMING_TOLERANCE
    assert streamed.label == whole.label and streamed.duration_s == whole.duration_s
    assert len(streamed.waveform) == len(whole.waveform)
    assert streamed.tracks == whole.tracks  # the same patches, heard block by block
    assert [s.family for s in streamed.segments] == [s.family for s in whole.segments]


def test_a_recording_of_one_block_is_classified_exactly_as_before(classifier, seventy_seconds):
    whole = classify_stream(classifier, seventy_seconds, block_s=math.inf)  # the whole-file path
    streamed = classify_stream(classifier, seventy_seconds)  # 70 s: one block of 120 s
    assert streamed.to_dict() == whole.to_dict() and streamed.waveform == whole.waveform


def test_progress_is_reported_with_the_timeline_so_far(classifier, seventy_seconds):
    reports = []
    result = classify_stream(
        classifier, seventy_seconds, block_s=5.0, on_progress=reports.append, progress_every_s=0
    )
    assert len(reports) >= 10
    done = [report.done_s for report in reports]
    assert done == sorted(done) and done[-1] < result.duration_s
    assert all(report.total_s == pytest.approx(result.duration_s, abs=0.1) for report in reports)
    last = reports[-1].segments
    assert last and last[-1].end <= done[-1] + 0.01
    assert [s.label for s in last[:-1]] == [s.label for s in result.segments[: len(last) - 1]]
