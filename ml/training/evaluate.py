"""Evaluate a model on held-out files, at segment (window) and at file level.

    python -m ml.training.evaluate --corpus ../shared/corpus [--model ml/models/mfcc] [--split test|all] [--json OUT]

By default it scores the test sources recorded in the model's metadata, which training never
saw; `--split all` scores every file (for a corpus the model has never met, such as MUSAN).
Windows and file labels go through the same decision rule as the platform (ml/decision.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from ml import CLASS_NAMES
from ml.audio import AudioDecodeError, decode
from ml.decision import Calibration, decide, expected_calibration_error
from ml.features import FeatureSettings, extract
from ml.training.data import CorpusFile, WindowSet, scan_corpus

LABELS = list(range(len(CLASS_NAMES)))


def level_report(truth: np.ndarray, predicted: np.ndarray) -> dict:
    """The seed's table (precision, recall, F1, support; macro and weighted) and the confusion."""
    table = classification_report(
        truth, predicted, labels=LABELS, target_names=CLASS_NAMES, output_dict=True, zero_division=0
    )
    return {
        "table": table,
        "macro_f1": table["macro avg"]["f1-score"],
        "accuracy": table.get("accuracy", float(np.mean(truth == predicted))),
        "confusion": confusion_matrix(truth, predicted, labels=LABELS).tolist(),
    }


def decide_windows(
    raw_probabilities: np.ndarray, windows: WindowSet, settings: FeatureSettings, metadata: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-window decisions and per-file decisions, file by file, as inference makes them."""
    smoothed = np.zeros_like(raw_probabilities)
    file_probabilities = np.zeros((len(windows.files), len(CLASS_NAMES)))
    for file_id in range(len(windows.files)):
        rows = np.flatnonzero(windows.file_ids == file_id)
        durations = np.full(len(rows), settings.window_s)
        smoothed[rows], file_probabilities[file_id] = decide(
            raw_probabilities[rows],
            durations,
            Calibration.from_metadata(metadata),
            int(metadata.get("smoothing_windows", 3)),
        )
    file_labels = np.array([f.label_index for f in windows.files])
    return smoothed, file_probabilities, file_labels


def evaluate_windows(raw_probabilities: np.ndarray, windows: WindowSet, settings, metadata) -> dict:
    smoothed, file_probabilities, file_labels = decide_windows(raw_probabilities, windows, settings, metadata)
    predicted = smoothed.argmax(axis=1)
    per_source, heard_as = {}, {}
    for source in sorted(set(windows.sources)):
        rows = windows.sources == source
        per_source[source] = round(float(np.mean(predicted[rows] == windows.labels[rows])), 3)
        counts = np.bincount(predicted[rows], minlength=len(CLASS_NAMES))
        heard_as[source] = {name: int(n) for name, n in zip(CLASS_NAMES, counts)}
    return {
        "segments": level_report(windows.labels, predicted),
        "files": level_report(file_labels, file_probabilities.argmax(axis=1)),
        "segment_ece": expected_calibration_error(smoothed, windows.labels),
        "sources": sorted(set(windows.sources)),
        "segment_recall_per_source": per_source,
        "segments_heard_as_per_source": heard_as,
    }


def evaluate_files(classifier, files: Sequence[CorpusFile]) -> dict:
    """A loaded classifier (both networks and the combiner, as served) on whole corpus files,
    each decoded once (files that cannot be decoded are left out, as load_windows does)."""
    probabilities, labels, file_ids, sources = [], [], [], []
    kept: list[CorpusFile] = []
    for corpus_file in files:
        try:
            samples = decode(corpus_file.path).samples
        except AudioDecodeError:
            continue
        windows = extract(samples, classifier.settings)
        probabilities.append(classifier.window_probabilities(samples, windows))
        count = len(windows.starts_s)
        labels.append(np.full(count, corpus_file.label_index))
        file_ids.append(np.full(count, len(kept)))
        sources.append(np.full(count, corpus_file.source, dtype=object))
        kept.append(corpus_file)
    scored = WindowSet(
        np.zeros((sum(map(len, labels)), 0), np.float32),
        np.concatenate(labels),
        np.concatenate(file_ids),
        np.concatenate(sources),
        kept,
    )
    decision = {"smoothing_windows": classifier.smoothing_windows}  # calibrated already
    return evaluate_windows(np.concatenate(probabilities), scored, classifier.settings, decision)


def format_table(report: dict, title: str) -> str:
    table = report["table"]
    lines = [title, f"{'':>14} {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}"]
    for name in (*CLASS_NAMES, "macro avg", "weighted avg"):
        row = table[name]
        lines.append(
            f"{name:>14} {row['precision']:9.3f} {row['recall']:9.3f} {row['f1-score']:9.3f} "
            f"{int(row['support']):9d}"
        )
    lines.append(f"{'accuracy':>14} {report['accuracy']:29.3f}")
    lines.append("confusion (rows: truth, columns: predicted " + ", ".join(CLASS_NAMES) + ")")
    lines.extend(
        f"{name:>14} " + " ".join(f"{n:6d}" for n in row)
        for name, row in zip(CLASS_NAMES, report["confusion"])
    )
    return "\n".join(lines)


def format_sources(evaluation: dict, worst: int | None = None) -> str:
    """Per-source segment recall, worst first, with what the misses were heard as."""
    recalls = evaluation["segment_recall_per_source"]
    heard = evaluation.get("segments_heard_as_per_source", {})
    lines = [f"{'source':<44} {'recall':>6}  heard as (windows)"]
    for source in sorted(recalls, key=lambda s: (recalls[s], s))[:worst]:
        counts = heard.get(source, {})
        lines.append(
            f"{source:<44} {recalls[source]:6.2f}  " + ", ".join(f"{n} {c}" for n, c in counts.items() if c)
        )
    return "\n".join(lines)


def format_evaluation(evaluation: dict) -> str:
    return "\n\n".join(
        [
            format_table(evaluation["segments"], "Segments (3 s windows)"),
            format_table(evaluation["files"], "Files"),
            f"Segment expected calibration error: {evaluation['segment_ece']:.3f}",
            "Segment recall per source, worst first\n" + format_sources(evaluation),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    from ml.inference import DEFAULT_MODEL_DIR, Classifier

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR, help="model folder")
    parser.add_argument("--split", choices=("test", "all"), default="test")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    classifier = Classifier.load(args.model)
    files = scan_corpus(args.corpus)
    if args.split == "test":
        test_sources = set(classifier.metadata.get("split", {}).get("test", []))
        files = [f for f in files if f.source in test_sources]
        if not files:
            parser.error(
                "the model holds out no test sources of this corpus (it was trained on every source: "
                "its held-out figures are its cross-validation's, `make evaluate`); use --split all "
                "on a corpus it never heard"
            )
    evaluation = evaluate_files(classifier, files)
    evaluation["model_version"] = classifier.version
    print(f"Model {classifier.version} on {len(files)} files from {len(evaluation['sources'])} sources")
    print(format_evaluation(evaluation))
    if args.json:
        args.json.write_text(json.dumps(evaluation, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
