"""How often to say "unsure", chosen on cross-validated outputs: coverage against accuracy.

    python -m ml.training.crossval --corpus ../shared/corpus --preset P --json CV.json --probabilities CV.npz
    python -m ml.training.uncertainty CV.json CV.npz [--json OUT]

For each margin between the top two (calibrated, smoothed) class probabilities, the share of
held-out windows and files that would be flagged uncertain, how accurate the rest are, and how
accurate the flagged ones are. "Unsure" should mean "about as likely wrong as right": the chosen
margin is the largest one whose flagged windows are right at most MAX_FLAGGED_ACCURACY of the
time (and no more than MAX_FLAGGED of all windows). `ml.training.train --from-crossval` stores it in the
model's metadata.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ml.decision import is_uncertain
from ml.training.evaluate import decide_windows
from ml.training.outputs import FoldOutputs, by_fold

MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
MAX_FLAGGED_ACCURACY = 0.6
MAX_FLAGGED = 0.25


def coverage_table(
    probabilities: np.ndarray, labels: np.ndarray, margins: Sequence[float] = MARGINS
) -> list[dict]:
    """One row per margin: share flagged, accuracy of the rest, accuracy of the flagged."""
    correct = probabilities.argmax(axis=1) == labels
    rows = []
    for margin in margins:
        flagged = is_uncertain(probabilities, margin)
        kept = ~flagged
        rows.append(
            {
                "margin": margin,
                "flagged": round(float(flagged.mean()), 3),
                "accuracy_unflagged": round(float(correct[kept].mean()) if kept.any() else 1.0, 3),
                "accuracy_flagged": round(float(correct[flagged].mean()), 3) if flagged.any() else None,
            }
        )
    return rows


def choose_margin(rows: list[dict]) -> float:
    chosen = 0.0
    for row in rows:
        flagged_accuracy = row["accuracy_flagged"]
        if (
            flagged_accuracy is not None
            and flagged_accuracy <= MAX_FLAGGED_ACCURACY
            and row["flagged"] <= MAX_FLAGGED
        ):
            chosen = max(chosen, row["margin"])
    return chosen


def tables(outputs: FoldOutputs, settings, calibrated: np.ndarray | None = None) -> dict:
    """Coverage tables of the held-out windows (calibrated per fold unless given, e.g. already
    re-read in context)."""
    if calibrated is None:
        calibrated = by_fold(outputs.raw, outputs.fold_of, outputs.calibrations)
    smoothed, file_probabilities, file_labels = decide_windows(
        calibrated, outputs.windows, settings, {"smoothing_windows": 3}
    )
    segments = coverage_table(smoothed, outputs.windows.labels)
    return {
        "segments": segments,
        "files": coverage_table(file_probabilities, file_labels),
        "chosen_margin": choose_margin(segments),
        "max_flagged_accuracy": MAX_FLAGGED_ACCURACY,
        "max_flagged": MAX_FLAGGED,
    }


def format_tables(result: dict) -> str:
    lines = [
        "| margin | windows flagged | accuracy of the rest | accuracy of the flagged | files flagged | file accuracy of the rest |",
        "|---|---|---|---|---|---|",
    ]
    for segment, file in zip(result["segments"], result["files"]):
        flagged_accuracy = (
            "-" if segment["accuracy_flagged"] is None else f"{segment['accuracy_flagged']:.3f}"
        )
        lines.append(
            f"| {segment['margin']:.2f} | {segment['flagged']:.1%} | {segment['accuracy_unflagged']:.3f} | "
            f"{flagged_accuracy} | {file['flagged']:.1%} | {file['accuracy_unflagged']:.3f} |"
        )
    lines.append(f"\nChosen margin: {result['chosen_margin']:.2f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from ml.training.presets import PRESETS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evaluation", type=Path, help="what `ml.training.crossval --json` wrote")
    parser.add_argument("probabilities", type=Path, help="what `ml.training.crossval --probabilities` wrote")
    parser.add_argument("--json", type=Path, help="also write the tables here")
    args = parser.parse_args(argv)
    evaluation = json.loads(args.evaluation.read_text())
    outputs = FoldOutputs.load(args.probabilities, evaluation)
    result = tables(outputs, PRESETS[evaluation["preset"]].features)
    result["preset"] = evaluation["preset"]
    print(f"Preset {evaluation['preset']}: {len(outputs.raw)} held-out windows")
    print(format_tables(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
