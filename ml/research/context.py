"""Context longer than one window: a small model over the neighbours' outputs.

A drone and an ambience bed, or a lowing cow and a word, differ more over ten seconds than over
three. Each window's calibrated class log-probabilities, with those of its neighbours up to
CONTEXT_WINDOWS either side (about 12 s at a 1.5 s hop, never across files), go into a
multinomial logistic regression that gives the window's new probabilities. It is fitted on
cross-validated outputs (held-out windows of every fold, and the mixtures, so it also learns
where a class changes), and judged there by nesting: fold k is scored by a context model fitted
on the other folds only. It is a few hundred numbers, stored in the model's metadata.

    python -m ml.research.context CV.json CV.npz [--reach 1 3 6] [--smoothing 1 3]   # against none, same outputs
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml import CLASS_NAMES

CONTEXT_WINDOWS = 3


def context_features(
    probabilities: np.ndarray, file_ids: np.ndarray, reach: int = CONTEXT_WINDOWS
) -> np.ndarray:
    """Per window: the log-probabilities of itself and of `reach` neighbours each side within its
    file (zeros beyond the file's ends), and for each neighbour whether it exists."""
    logs = np.log(np.clip(probabilities, 1e-6, 1.0)).astype(np.float32)
    n, classes = logs.shape
    columns = []
    for offset in range(-reach, reach + 1):
        index = np.arange(n) + offset
        inside = (index >= 0) & (index < n)
        same_file = np.zeros(n, dtype=bool)
        same_file[inside] = file_ids[index[inside]] == file_ids[inside]
        shifted = np.zeros((n, classes), dtype=np.float32)
        shifted[same_file] = logs[index[same_file]]
        columns.append(shifted)
        if offset:
            columns.append(same_file[:, None].astype(np.float32))
    return np.concatenate(columns, axis=1)


@dataclass(frozen=True)
class ContextModel:
    coefficients: np.ndarray  # (features, classes)
    intercept: np.ndarray  # (classes,)
    reach: int = CONTEXT_WINDOWS

    def apply(self, probabilities: np.ndarray, file_ids: np.ndarray | None = None) -> np.ndarray:
        if len(probabilities) == 0:
            return probabilities
        file_ids = np.zeros(len(probabilities), dtype=int) if file_ids is None else file_ids
        logits = context_features(probabilities, file_ids, self.reach) @ self.coefficients + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        scaled = np.exp(logits)
        return (scaled / scaled.sum(axis=1, keepdims=True)).astype(np.float32)

    @classmethod
    def fit(
        cls, probabilities: np.ndarray, labels: np.ndarray, file_ids: np.ndarray, reach: int = CONTEXT_WINDOWS
    ) -> ContextModel:
        """Fitted with every class weighing the same (noise is scarce)."""
        from sklearn.linear_model import LogisticRegression

        regression = LogisticRegression(C=0.5, class_weight="balanced", max_iter=2000)
        regression.fit(context_features(probabilities, file_ids, reach), labels)
        coefficients = np.zeros((regression.coef_.shape[1], len(CLASS_NAMES)), dtype=np.float64)
        intercept = np.zeros(len(CLASS_NAMES))
        for row, label in enumerate(regression.classes_):
            coefficients[:, label] = regression.coef_[row]
            intercept[label] = regression.intercept_[row]
        return cls(coefficients, intercept, reach)

    def to_dict(self) -> dict:
        return {
            "reach": self.reach,
            "coefficients": np.round(self.coefficients, 6).tolist(),
            "intercept": np.round(self.intercept, 6).tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> ContextModel | None:
        if not data:
            return None
        return cls(np.array(data["coefficients"]), np.array(data["intercept"]), int(data["reach"]))


def _calibrated(outputs) -> tuple[np.ndarray, np.ndarray]:
    """Held-out windows and mixtures, each through its own fold's calibration."""
    from ml.training.outputs import by_fold

    return (
        by_fold(outputs.raw, outputs.fold_of, outputs.calibrations),
        by_fold(outputs.mixture_raw, outputs.mixture_fold, outputs.calibrations),
    )


def _fit_on(outputs, windows, mixtures, rows, mixture_rows, reach: int) -> ContextModel:
    """A context model from the chosen held-out windows and mixtures (file ids kept apart)."""
    offset = outputs.windows.file_ids.max() + 1
    return ContextModel.fit(
        np.concatenate([windows[rows], mixtures[mixture_rows]]),
        np.concatenate([outputs.windows.labels[rows], outputs.mixtures.labels[mixture_rows]]),
        np.concatenate([outputs.windows.file_ids[rows], outputs.mixtures.file_ids[mixture_rows] + offset]),
        reach,
    )


def fit_on_crossval(outputs, reach: int = CONTEXT_WINDOWS) -> ContextModel:
    """One context model from every fold's held-out windows and mixtures (calibrated per fold)."""
    windows, mixtures = _calibrated(outputs)
    every, every_mixture = np.ones(len(windows), bool), np.ones(len(mixtures), bool)
    return _fit_on(outputs, windows, mixtures, every, every_mixture, reach)


def nested_outputs(
    outputs, reach: int = CONTEXT_WINDOWS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Calibrated held-out windows and mixtures, without and with context; fold k's context model
    is fitted on the other folds only, so no window is judged by a model that saw its label."""
    windows, mixtures = _calibrated(outputs)
    with_context, mixed_context = windows.copy(), mixtures.copy()
    for k in range(len(outputs.calibrations)):
        others, other_mixtures = outputs.fold_of != k, outputs.mixture_fold != k
        model = _fit_on(outputs, windows, mixtures, others, other_mixtures, reach)
        mine, my_mixtures = ~others, ~other_mixtures
        with_context[mine] = model.apply(windows[mine], outputs.windows.file_ids[mine])
        mixed_context[my_mixtures] = model.apply(
            mixtures[my_mixtures], outputs.mixtures.file_ids[my_mixtures]
        )
    return windows, mixtures, with_context, mixed_context


def nested_scores(
    outputs, settings, smoothing_windows: int = 3, reach: int = CONTEXT_WINDOWS
) -> dict[str, dict]:
    """Segment, file and mixture figures from the same outputs, without and with context."""
    from ml.training.evaluate import evaluate_windows
    from ml.training.outputs import summary

    windows, mixtures, with_context, mixed_context = nested_outputs(outputs, reach)
    decision = {"smoothing_windows": smoothing_windows}

    def scored(window_probabilities, mixture_probabilities) -> dict:
        evaluation = evaluate_windows(window_probabilities, outputs.windows, settings, decision)
        evaluation["mixtures"] = evaluate_windows(
            mixture_probabilities, outputs.mixtures, settings, decision
        )["segments"]
        return evaluation

    plain, context = scored(windows, mixtures), scored(with_context, mixed_context)
    return {
        "without context": plain,
        "with context": context,
        "summary": {name: summary(e) for name, e in (("without context", plain), ("with context", context))},
    }


def main(argv: Sequence[str] | None = None) -> int:
    from ml.training.outputs import FoldOutputs
    from ml.training.presets import PRESETS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evaluation", type=Path)
    parser.add_argument("probabilities", type=Path)
    parser.add_argument("--smoothing", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--reach", type=int, nargs="+", default=[CONTEXT_WINDOWS], help="windows either side")
    args = parser.parse_args(argv)
    evaluation = json.loads(args.evaluation.read_text())
    outputs = FoldOutputs.load(args.probabilities, evaluation)
    settings = PRESETS[evaluation["preset"]].features
    for reach in args.reach:
        for width in args.smoothing:
            for name, row in nested_scores(outputs, settings, width, reach)["summary"].items():
                figures = ", ".join(f"{k} {v:.3f}" for k, v in row.items())
                print(f"reach {reach}, median {width}, {name:>15}: {figures}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
