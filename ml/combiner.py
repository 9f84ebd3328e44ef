"""The combiner: how the MFCC network's and the pretrained network's opinions of a window become
one answer. Two kinds, chosen on held-out real-world sources (ml/training/combine.py) and stored
in the model's metadata.json:

- ``mean``: a weighted mean of the MFCC network's calibrated probabilities and the pretrained
  network's grouped scores as our three classes (ml.pretrained.three_class); one number, the
  pretrained network's weight. It keeps what the pretrained network knows whole.
- ``logistic``: a multinomial logistic model over the log of the MFCC network's probabilities (3)
  and of the grouped AudioSet scores (one per group), fitted on held-out outputs only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml.pretrained import GROUP_NAMES, three_class

KINDS = ("mean", "logistic")
FLOOR = 1e-4  # logs of probabilities and sigmoid scores are taken above this


def combiner_inputs(mfcc_probabilities: np.ndarray, pretrained_groups: np.ndarray) -> np.ndarray:
    """(windows, 3) and (windows, groups) -> (windows, 3 + groups) log-features."""
    return np.log(np.clip(np.concatenate([mfcc_probabilities, pretrained_groups], axis=1), FLOOR, 1.0))


@dataclass(frozen=True)
class Combiner:
    groups: tuple[str, ...]  # the pretrained network's groups, in order
    kind: str = "logistic"
    pretrained_weight: float = 0.0  # "mean"
    coefficients: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # "logistic": (3 + groups, 3)
    intercept: np.ndarray = field(default_factory=lambda: np.zeros(3))  # "logistic": (3,)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"combiner kind must be one of {KINDS}, not {self.kind!r}")
        if tuple(self.groups) != GROUP_NAMES:
            raise ValueError(f"this combiner reads the groups {self.groups}, not the served {GROUP_NAMES}")

    def apply(self, mfcc_probabilities: np.ndarray, pretrained_groups: np.ndarray) -> np.ndarray:
        if len(mfcc_probabilities) == 0:
            return mfcc_probabilities
        if self.kind == "mean":
            w = self.pretrained_weight
            return ((1 - w) * mfcc_probabilities + w * three_class(pretrained_groups)).astype(np.float32)
        logits = combiner_inputs(mfcc_probabilities, pretrained_groups) @ self.coefficients + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        scaled = np.exp(logits)
        return (scaled / scaled.sum(axis=1, keepdims=True)).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        shared = {"kind": self.kind, "groups": list(self.groups)}
        if self.kind == "mean":
            return {**shared, "pretrained_weight": self.pretrained_weight}
        return {
            **shared,
            "coefficients": np.round(self.coefficients, 6).tolist(),
            "intercept": np.round(self.intercept, 6).tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Combiner | None:
        if not data:
            return None
        kind = data.get("kind", "logistic")
        if kind == "mean":
            return cls(tuple(data["groups"]), kind, float(data["pretrained_weight"]))
        return cls(
            tuple(data["groups"]),
            kind,
            coefficients=np.asarray(data["coefficients"], dtype=np.float64),
            intercept=np.asarray(data["intercept"], dtype=np.float64),
        )
