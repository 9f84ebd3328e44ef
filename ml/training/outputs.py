"""Held-out outputs of a cross-validation: every window's raw network output with the fold that
scored it and that fold's calibration, saved beside the figures so any decision rule (smoothing,
margins, a combiner) can be scored again without training."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml import CLASS_NAMES
from ml.decision import DEFAULT_SMOOTHING_WINDOWS, Calibration
from ml.features import FeatureSettings
from ml.training.data import CorpusFile, WindowSet
from ml.training.evaluate import evaluate_windows


@dataclass
class FoldOutputs:
    """Every held-out window's raw network output, with the fold that scored it and that fold's
    calibration: enough to score any decision rule without training again."""

    raw: np.ndarray
    fold_of: np.ndarray
    windows: WindowSet
    calibrations: list[Calibration]
    mixture_raw: np.ndarray
    mixture_fold: np.ndarray
    mixtures: WindowSet

    def score(
        self,
        settings: FeatureSettings,
        calibrated: Callable[[Calibration], Calibration] = lambda calibration: calibration,
        smoothing_windows: int = DEFAULT_SMOOTHING_WINDOWS,
    ) -> dict:
        """Every fold's outputs through (a variant of) its own calibration and the decision
        rule, pooled and scored at segment, file and mixture level."""
        calibrations = [calibrated(c) for c in self.calibrations]
        decision = {"smoothing_windows": smoothing_windows}
        evaluation = evaluate_windows(
            by_fold(self.raw, self.fold_of, calibrations), self.windows, settings, decision
        )
        mixed = by_fold(self.mixture_raw, self.mixture_fold, calibrations)
        evaluation["mixtures"] = evaluate_windows(mixed, self.mixtures, settings, decision)["segments"]
        return evaluation

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            raw=self.raw,
            fold=self.fold_of,
            labels=self.windows.labels,
            file_ids=self.windows.file_ids,
            sources=self.windows.sources.astype(str),
            mixture_raw=self.mixture_raw,
            mixture_fold=self.mixture_fold,
            mixture_labels=self.mixtures.labels,
            mixture_file_ids=self.mixtures.file_ids,
        )

    @classmethod
    def load(cls, path: Path, evaluation: dict) -> FoldOutputs:
        """What `save` wrote, with each fold's calibration from that run's --json figures."""
        saved = np.load(path)
        calibrations = [
            Calibration(float(t), tuple(float(b) for b in bias))
            for t, bias in zip(evaluation["temperatures"], evaluation["class_biases"])
        ]
        mixture_labels = saved["mixture_labels"]
        return cls(
            raw=saved["raw"],
            fold_of=saved["fold"],
            windows=labelled_windows(saved["labels"], saved["file_ids"], saved["sources"]),
            calibrations=calibrations,
            mixture_raw=saved["mixture_raw"],
            mixture_fold=saved["mixture_fold"],
            mixtures=labelled_windows(
                mixture_labels, saved["mixture_file_ids"], np.full(len(mixture_labels), "mixture")
            ),
        )


def by_fold(raw: np.ndarray, fold_of: np.ndarray, calibrations: Sequence[Calibration]) -> np.ndarray:
    """Each fold's rows through that fold's own calibration."""
    calibrated = np.zeros_like(raw)
    for k, calibration in enumerate(calibrations):
        calibrated[fold_of == k] = calibration.apply(raw[fold_of == k])
    return calibrated


def labelled_windows(labels: np.ndarray, file_ids: np.ndarray, sources: np.ndarray) -> WindowSet:
    """A WindowSet without features (scoring needs only labels, files and sources); each file
    takes the label and source of its first window."""
    _, firsts = np.unique(file_ids, return_index=True)
    files = [
        CorpusFile(Path(f"file-{i}"), CLASS_NAMES[labels[row]], str(sources[row]))
        for i, row in enumerate(firsts)
    ]
    return WindowSet(np.zeros((len(labels), 0), np.float32), labels, file_ids, sources.astype(object), files)


def summary(evaluation: dict) -> dict[str, float]:
    """The headline figures of one cross-validation, for tables of variants."""
    segments, files = evaluation["segments"], evaluation["files"]
    return {
        "segment_macro_f1": round(segments["macro_f1"], 3),
        "file_macro_f1": round(files["macro_f1"], 3),
        "segment_noise_recall": round(segments["table"]["noise"]["recall"], 3),
        "file_noise_recall": round(files["table"]["noise"]["recall"], 3),
        "mixture_macro_f1": round(evaluation["mixtures"]["macro_f1"], 3),
    }
