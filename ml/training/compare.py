"""Two models, the same recordings: per-class precision / recall / F1, macro-F1, noise recall,
and where they disagree. What a candidate model must show before it replaces the active one.

Every window of every recording is scored against the recording's label (a corpus file, or a
user's corrected clip or segment); the "disagreements" are the recordings whose overall label
differs between the two models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml import CLASS_NAMES
from ml.audio import AudioDecodeError
from ml.inference import Classifier
from ml.streaming import classify_stream


@dataclass(frozen=True)
class Item:
    """One labelled recording: `key` names it for people (a corpus path, "clip 12, 3.0-6.0 s")."""

    path: Path
    label: str
    key: str
    start_s: float = 0.0
    end_s: float | None = None
    ref: dict | None = None  # the caller's own facts about it (which clip), passed to the report


def scores(truth: list[str], predicted: list[str]) -> dict:
    """Per-class precision / recall / F1 and support, macro-F1 over the classes present."""
    from sklearn.metrics import precision_recall_fscore_support

    if not truth:
        return {"windows": 0, "per_class": {}, "macro_f1": None, "noise_recall": None}
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=list(CLASS_NAMES), zero_division=0
    )
    per_class = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(CLASS_NAMES, precision, recall, f1, support)
    }
    present = [name for name in CLASS_NAMES if per_class[name]["support"]]
    return {
        "windows": len(truth),
        "per_class": per_class,
        "macro_f1": float(np.mean([per_class[name]["f1"] for name in present])),
        "noise_recall": per_class["noise"]["recall"] if per_class["noise"]["support"] else None,
    }


def _windows(classifier: Classifier, item: Item) -> tuple[str, list[str]]:
    """The labels of the recording's windows within start..end, and the most common of them."""
    result = classify_stream(classifier, item.path)
    end = item.end_s if item.end_s is not None else float("inf")
    inside = [w.label for w in result.windows if w.end > item.start_s and w.start < end]
    overall = max(set(inside), key=inside.count) if inside else result.label
    return overall, inside


def compare(active: Classifier, candidate: Classifier, items: Iterable[Item]) -> dict:
    """Both models' scores on `items`, and the items whose overall label they disagree on."""
    truth: list[str] = []
    heard: dict[str, list[str]] = {"active": [], "candidate": []}
    disagreements, skipped, recordings = [], [], 0
    for item in items:
        try:
            active_label, active_windows = _windows(active, item)
            candidate_label, candidate_windows = _windows(candidate, item)
        except AudioDecodeError as error:
            skipped.append(f"{item.key}: {error}")
            continue
        recordings += 1
        count = min(len(active_windows), len(candidate_windows))
        truth += [item.label] * count
        heard["active"] += active_windows[:count]
        heard["candidate"] += candidate_windows[:count]
        if active_label != candidate_label:
            disagreements.append(
                {
                    "key": item.key,
                    "truth": item.label,
                    "active": active_label,
                    "candidate": candidate_label,
                    "start": item.start_s,
                    "end": item.end_s,
                    "ref": item.ref,
                }
            )
    return {
        "active": {"version": active.version, **scores(truth, heard["active"])},
        "candidate": {"version": candidate.version, **scores(truth, heard["candidate"])},
        "recordings": recordings,
        "disagreements": disagreements,
        "skipped": skipped,
    }
