"""A compact picture of a recording: min/max sample per column, for drawing a waveform."""

from __future__ import annotations

import numpy as np

DEFAULT_COLUMNS = 600


def peaks(samples: np.ndarray, columns: int = DEFAULT_COLUMNS) -> list[list[float]]:
    """[[min, max], ...] over `columns` equal slices (fewer for very short audio), rounded to
    three decimals so it stores in a few kB."""
    columns = max(1, min(columns, len(samples)))
    usable = len(samples) - len(samples) % columns
    blocks = samples[:usable].reshape(columns, -1)
    return np.round(np.stack([blocks.min(axis=1), blocks.max(axis=1)], axis=1), 3).tolist()
