"""Throughput of the ML pipeline on a 10-minute mixed recording, stage by stage.

    python -m ml.research.bench [--corpus ../shared/corpus] [--minutes 10] [--repeats 5] [--model DIR]

Builds the recording from corpus files (music, speech and noise in turn; synthetic tones and
noise where no corpus is given), warms the classifier once, then prints the median real-time
factor (audio seconds per wall second) of decode, features and inference, in total, and the
process's peak memory.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile

from ml.audio import SAMPLE_RATE, decode
from ml.decision import decide
from ml.features import extract


def mixed_recording(corpus: Path | None, seconds: float, seed: int = 0) -> np.ndarray:
    """About `seconds` of audio alternating music, speech and noise."""
    rng = np.random.default_rng(seed)
    if corpus is None or not corpus.is_dir():
        t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0)
        return (tone + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    from ml.training.data import scan_corpus

    by_label: dict[str, list] = {}
    for f in scan_corpus(corpus):
        by_label.setdefault(f.label, []).append(f)
    pieces, total, turn = [], 0, 0
    labels = sorted(by_label)
    while total < seconds * SAMPLE_RATE:
        files = by_label[labels[turn % len(labels)]]
        samples = decode(files[rng.integers(len(files))].path).samples[: 30 * SAMPLE_RATE]
        pieces.append(samples)
        total += len(samples)
        turn += 1
    return np.concatenate(pieces)[: int(seconds * SAMPLE_RATE)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    from ml.inference import DEFAULT_MODEL_DIR, Classifier

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus"
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    args = parser.parse_args(argv)

    audio_s = args.minutes * 60
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mixed.flac"
        soundfile.write(path, mixed_recording(args.corpus, audio_s), SAMPLE_RATE)
        started = time.perf_counter()
        classifier = Classifier.load(args.model)
        load_s = time.perf_counter() - started
        rss_loaded = peak_rss_mb()
        classifier.warm_up()
        classifier.classify(path)

        timings: dict[str, list[float]] = {"decode": [], "features": [], "inference": [], "total": []}
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            samples = decode(path).samples
            t1 = time.perf_counter()
            windows = extract(samples, classifier.settings)
            t2 = time.perf_counter()
            decide(classifier.window_probabilities(windows.features), windows.ends_s - windows.starts_s)
            t3 = time.perf_counter()
            classifier.classify(path)
            t4 = time.perf_counter()
            for stage, seconds in zip(timings, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                timings[stage].append(seconds)

    print(f"model {classifier.version}; {audio_s:.0f} s of mixed audio, {len(windows.features)} windows")
    print(f"cold model load: {load_s:.2f} s")
    for stage, values in timings.items():
        median = statistics.median(values)
        print(f"{stage:>10}: {median * 1000:8.1f} ms  {audio_s / median:8.0f}x real time")
    print(f"peak memory: {peak_rss_mb():.0f} MB (after model load {rss_loaded:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
