"""Throughput of the ML pipeline on a 10-minute mixed recording, stage by stage, and the two
speed ratios of the served model, each measured side by side in this run.

    python -m ml.research.bench [--corpus ../shared/corpus] [--minutes 10] [--repeats 5] [--model DIR]

Builds the recording from corpus files (music, speech and noise in turn; synthetic tones and
noise where no corpus is given), warms the classifier once, then prints the median real-time
factor (audio seconds per wall second) of decode, features, both networks with the decision, in
total, and the process's peak memory. Then:
- warm speed against the pretrained network alone: classifying the long file as serving does
  (`ml.streaming.classify_stream`: both networks, the lanes, families and tags) against decoding
  it and running YAMNet patch after patch on one thread, interleaved, medians; the ratio is our
  speed as a share of YAMNet's (target: at least 1.0);
- cold start: `python -m ml.classify` on a 1 s file as a whole process against
  `python -c "import tensorflow"`, interleaved, medians (target: at most 0.3).
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
from ml.decision import smooth_and_pool
from ml.features import extract
from ml.streaming import classify_stream


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
        classify_stream(classifier, path)

        stages = ("decode", "features", "mfcc net", "yamnet", "layers", "decision", "total")
        timings: dict[str, list[float]] = {stage: [] for stage in stages}
        for _ in range(args.repeats):
            marks = [time.perf_counter()]
            samples = decode(path).samples
            marks.append(time.perf_counter())
            windows = extract(samples, classifier.settings)
            marks.append(time.perf_counter())
            calibrated = classifier.calibration.apply(classifier.network.predict(windows.features))
            marks.append(time.perf_counter())
            outputs = classifier.pretrained.patch_layers(samples) if classifier.pretrained else None
            marks.append(time.perf_counter())
            if outputs is not None and classifier.layers is not None:
                classifier.layers.patch_layers(outputs)
            marks.append(time.perf_counter())
            smooth_and_pool(calibrated, windows.ends_s - windows.starts_s)
            marks.append(time.perf_counter())
            classify_stream(classifier, path)
            marks.append(time.perf_counter())
            for stage, (a, b) in zip(stages, zip(marks[:-1], marks[1:])):
                timings[stage].append(b - a)

    print(f"model {classifier.version}; {audio_s:.0f} s of mixed audio, {len(windows.features)} windows")
    print(f"cold model load: {load_s:.2f} s")
    for stage, values in timings.items():
        median = statistics.median(values)
        print(f"{stage:>10}: {median * 1000:8.1f} ms  {audio_s / median:8.0f}x real time")
    print(f"peak memory: {peak_rss_mb():.0f} MB (after model load {rss_loaded:.0f} MB)")
    warm_ratio(classifier, args.corpus, audio_s, args.repeats)
    cold_ratio(args.model, args.repeats)
    return 0


def warm_ratio(classifier, corpus: Path | None, audio_s: float, repeats: int) -> None:
    from ml.pretrained import Pretrained

    alone = Pretrained(threads=1)
    ours: list[float] = []
    theirs: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.flac"
        soundfile.write(path, mixed_recording(corpus, audio_s, seed=1), SAMPLE_RATE)
        alone.patch_outputs(decode(path).samples[:SAMPLE_RATE])
        for _ in range(repeats):
            started = time.perf_counter()
            classify_stream(classifier, path)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            alone.patch_outputs(decode(path).samples)
            theirs.append(time.perf_counter() - started)
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    print(
        f"warm, {audio_s:.0f} s file: ml.classify {audio_s / ours_s:.0f}x real time, YAMNet alone "
        f"(decode + patch after patch, one thread) {audio_s / theirs_s:.0f}x; "
        f"speed ratio {theirs_s / ours_s:.2f} (target >= 1.0)"
    )


def cold_ratio(model: Path, repeats: int) -> None:
    import subprocess

    ours: list[float] = []
    tensorflow: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "one-second.wav"
        tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(SAMPLE_RATE) / SAMPLE_RATE)
        soundfile.write(path, tone.astype(np.float32), SAMPLE_RATE)
        commands = {
            "ours": [sys.executable, "-m", "ml.classify", str(path), "--model", str(model)],
            "tensorflow": [sys.executable, "-c", "import tensorflow"],
        }
        for _ in range(repeats):
            for name, times in (("ours", ours), ("tensorflow", tensorflow)):
                started = time.perf_counter()
                subprocess.run(commands[name], check=True, capture_output=True)
                times.append(time.perf_counter() - started)
    ours_s, tensorflow_s = statistics.median(ours), statistics.median(tensorflow)
    print(
        f"cold start: python -m ml.classify on a 1 s file {ours_s:.2f} s, python -c 'import tensorflow' "
        f"{tensorflow_s:.2f} s; ratio {ours_s / tensorflow_s:.2f} (target <= 0.3)"
    )


if __name__ == "__main__":
    sys.exit(main())
