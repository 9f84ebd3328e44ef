"""The combiner: one small multinomial logistic model over both networks' opinions of a window.

Inputs per window: the log of the MFCC network's calibrated probabilities (3) and the log of the
pretrained network's grouped AudioSet scores (ml/pretrained.py, one per group). Output: our three
class probabilities. It is fitted on held-out cross-validation outputs only (ml/training/combine.py),
never on windows the MFCC network trained on, and is stored in the model's metadata.json.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLOOR = 1e-4  # logs of probabilities and sigmoid scores are taken above this


def combiner_inputs(mfcc_probabilities: np.ndarray, pretrained_groups: np.ndarray) -> np.ndarray:
    """(windows, 3) and (windows, groups) -> (windows, 3 + groups) log-features."""
    return np.log(np.clip(np.concatenate([mfcc_probabilities, pretrained_groups], axis=1), FLOOR, 1.0))


@dataclass(frozen=True)
class Combiner:
    coefficients: np.ndarray  # (3 + groups, 3)
    intercept: np.ndarray  # (3,)
    groups: tuple[str, ...]  # the pretrained network's groups, in order

    def apply(self, mfcc_probabilities: np.ndarray, pretrained_groups: np.ndarray) -> np.ndarray:
        if len(mfcc_probabilities) == 0:
            return mfcc_probabilities
        logits = combiner_inputs(mfcc_probabilities, pretrained_groups) @ self.coefficients + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        scaled = np.exp(logits)
        return (scaled / scaled.sum(axis=1, keepdims=True)).astype(np.float32)

    def to_dict(self) -> dict:
        return {
            "coefficients": np.round(self.coefficients, 6).tolist(),
            "intercept": np.round(self.intercept, 6).tolist(),
            "groups": list(self.groups),
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> Combiner | None:
        if not data:
            return None
        return cls(
            np.asarray(data["coefficients"], dtype=np.float64),
            np.asarray(data["intercept"], dtype=np.float64),
            tuple(data["groups"]),
        )
