"""Which family (ml/families.py) each of the pretrained network's 521 AudioSet classes stands for,
by the AudioSet ontology (the rows of ml/models/yamnet/yamnet_class_map.csv, in ontology order).
A segment's family is then read from the network's own scores: no training, so nothing here was
fitted to the corpus (ml/training/layers.py compares it with heads fitted on held-out sources)."""

from __future__ import annotations

import numpy as np

from ml.families import FAMILIES

OTHER = "other-noise"

# (family, rows of the class map); a row named twice takes the later family.
ROWS: tuple[tuple[str, tuple[range | int, ...]], ...] = (
    ("speech", (range(0, 6),)),
    ("singing", (range(24, 33), 213, 233, 249, 250)),
    ("instrumental", (range(132, 277),)),
    ("crowd", (58, range(61, 67), 513)),
    ("animals", (range(67, 132),)),
    ("birds", (range(93, 103), range(106, 117))),
    ("water-weather", (range(277, 292), range(438, 451))),
    ("vehicles", (range(294, 348),)),
    ("machines", (339, 340, 341, range(358, 372), 376, range(378, 381), range(398, 420), 482, 490, 510, 517)),
    (
        "alarms",
        (range(195, 203), 302, 303, 304, 313, range(316, 320), 349, 350, range(382, 398), 475, 476, 477, 489),
    ),
    (
        "impacts",
        (
            348,
            range(351, 358),
            range(420, 438),
            range(452, 456),
            range(459, 467),
            range(472, 475),
            478,
            483,
            488,
            493,
        ),
    ),
)
# A sound whose best specific family scores under this is "other-noise" (of 0.03-0.3, the best
# macro recall over the corpus's files: the one number here chosen on the corpus).
SPECIFIC_FLOOR = 0.05


def class_families() -> np.ndarray:
    """(521,) index into FAMILIES of each AudioSet class (other-noise where the ontology says
    nothing of ours)."""
    families = np.full(521, FAMILIES.index(OTHER), dtype=np.int64)
    for family, rows in ROWS:
        for row in rows:
            families[list(row) if isinstance(row, range) else [row]] = FAMILIES.index(family)
    return families


_OWNER = class_families()


def family_scores(scores: np.ndarray) -> np.ndarray:
    """(..., 521) class scores -> (..., families): each family's strongest class."""
    out = np.zeros((*scores.shape[:-1], len(FAMILIES)), dtype=np.float32)
    for index in range(len(FAMILIES)):
        members = np.equal(_OWNER, index)
        if members.any():
            out[..., index] = scores[..., members].max(axis=-1)
    return out


def choose(mean_scores: np.ndarray, allowed: list[int], floor: float = SPECIFIC_FLOOR) -> int:
    """The family among `allowed` (indices into FAMILIES) from a segment's mean class scores:
    the strongest specific one, or other-noise when none reaches `floor`."""
    return choose_from_families(family_scores(mean_scores), allowed, floor)


def choose_from_families(per_family: np.ndarray, allowed: list[int], floor: float = SPECIFIC_FLOOR) -> int:
    other = FAMILIES.index(OTHER)
    specific = [i for i in allowed if i != other]
    best = max(specific, key=lambda i: per_family[i])
    if other in allowed and per_family[best] < floor:
        return other
    return best
