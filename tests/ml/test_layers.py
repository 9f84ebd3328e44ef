"""Layered answers (ml/layers.py): two tracks that overlap where speech has music under it, with
the music's level; a family for every segment of sound, never against its class; the network's
own tags. On the shipped heads and real recordings."""

from __future__ import annotations

import numpy as np
import pytest

from ml.audio import SAMPLE_RATE, decode
from ml.families import FAMILY_CLASS
from ml.inference import Classifier
from ml.layers import runs, smooth_tracks
from ml.streaming import classify_stream
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    loaded = Classifier.load()
    assert loaded.layers is not None, "the shipped model serves the layered heads"
    return loaded


def looped(name: str, seconds: float) -> np.ndarray:
    samples = decode(FIXTURES / name).samples
    return np.tile(samples, int(np.ceil(seconds * SAMPLE_RATE / len(samples))))[: int(seconds * SAMPLE_RATE)]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def covered_s(spans: list[dict], start: float, end: float) -> float:
    return sum(max(0.0, min(s["end"], end) - max(s["start"], start)) for s in spans)


def test_speech_with_music_under_it_is_heard_on_both_tracks_with_the_music_below(classifier):
    speech = looped("speech.flac", 16.0)
    music = looped("music.flac", 16.0)
    music *= rms(speech) * 10 ** (-8 / 20) / rms(music)  # 8 dB under the speech
    result = classifier.classify_samples(0.8 * (speech + music) / np.abs(speech + music).max())
    tracks = result.tracks
    assert covered_s(tracks["speech"], 0, 16) > 10, tracks
    assert covered_s(tracks["music"], 0, 16) > 10, tracks
    levels = [span["level_db"] for span in tracks["music"] if "level_db" in span]
    assert levels and np.median(levels) < 0, tracks["music"]


def test_music_alone_has_no_speech_track_and_speech_alone_no_music_track(classifier):
    music = classifier.classify_samples(looped("music.flac", 12.0)).tracks
    speech = classifier.classify_samples(looped("speech.flac", 12.0)).tracks
    assert covered_s(music["music"], 0, 12) > 10 and covered_s(music["speech"], 0, 12) < 1.5, music
    assert covered_s(speech["speech"], 0, 12) > 8 and covered_s(speech["music"], 0, 12) < 1.5, speech
    assert all("level_db" not in span for span in music["music"])  # no speech to be under


@pytest.mark.parametrize(
    ("name", "family"),
    [("speech.flac", "speech"), ("noise-rain.flac", "water-weather"), ("noise.flac", "water-weather")],
)
def test_every_segment_of_sound_carries_a_family_of_its_class_and_the_networks_tags(classifier, name, family):
    result = classify_stream(classifier, FIXTURES / name)
    for segment in result.segments:
        if segment.label == "silence":
            assert segment.family is None and segment.tags == []
            continue
        assert FAMILY_CLASS[segment.family] == segment.label  # never against the class
        assert 1 <= len(segment.tags) <= 3 and all(0 < tag["score"] <= 1 for tag in segment.tags)
    assert family in {segment.family for segment in result.segments}


def test_a_single_hesitant_patch_neither_breaks_a_track_nor_starts_one():
    probabilities = np.array([0.9, 0.9, 0.2, 0.9, 0.9, 0.1, 0.1, 0.8, 0.1, 0.1])
    assert runs(smooth_tracks(probabilities, 0.5)) == [(0, 5)]


def test_the_network_rewritten_with_more_outputs_answers_as_the_shipped_file():
    """The layers read YAMNet's inner tensors as extra outputs of a model rewritten at load: the
    scores, embedding and last layer are exactly what the shipped file computes."""
    from ai_edge_litert.interpreter import Interpreter

    from ml.pretrained import (
        DEFAULT_FOLDER,
        EMBEDDING_TENSOR,
        MODEL_FILE,
        THIRDS_TENSOR,
        Pretrained,
        named,
        patches,
    )

    samples = decode(FIXTURES / "music.flac").samples
    rewritten = Pretrained(embeddings=True).patch_layers(samples)
    shipped = Interpreter(str(DEFAULT_FOLDER / MODEL_FILE), experimental_preserve_all_tensors=True)
    shipped.allocate_tensors()
    tensors = {d["name"]: d["index"] for d in shipped.get_tensor_details()}
    index = {
        name: next(i for n, i in tensors.items() if named(n, name))
        for name in ("Identity", EMBEDDING_TENSOR, THIRDS_TENSOR)
    }
    for k, patch in enumerate(patches(samples)):
        shipped.set_tensor(shipped.get_input_details()[0]["index"], patch[None, :])
        shipped.invoke()
        np.testing.assert_array_equal(shipped.get_tensor(index["Identity"])[0], rewritten.scores[k])
        np.testing.assert_array_equal(shipped.get_tensor(index[EMBEDDING_TENSOR])[0], rewritten.embedding[k])
        thirds = shipped.get_tensor(index[THIRDS_TENSOR])[0].mean(axis=1)
        np.testing.assert_array_equal(thirds, rewritten.thirds[3 * k : 3 * k + 3])
