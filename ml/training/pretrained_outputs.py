"""The pretrained network's grouped scores for every window of a corpus, in the order
`ml.training.data.load_windows` keeps windows (so they line up with a cross-validation's saved
outputs), for fitting and scoring combiners without running the network again.

    python -m ml.training.pretrained_outputs --corpus ../shared/corpus --out var/pretrained.npz

About 3 ms per 0.975 s patch on one core: a few minutes for the 6-hour corpus.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ml.audio import AudioDecodeError, decode
from ml.features import FeatureSettings, extract
from ml.pretrained import GROUP_NAMES, Pretrained
from ml.training.data import CorpusFile, scan_corpus
from ml.training.progress import log


def pretrained_groups(
    files: Sequence[CorpusFile], settings: FeatureSettings, network: Pretrained | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(windows, groups) scores for every window of the decodable files, and each window's
    source, in load_windows' order (a file that fails to decode is skipped there too)."""
    network = network or Pretrained()
    groups, sources = [], []
    began = time.monotonic()
    for n, corpus_file in enumerate(files):
        try:
            samples = decode(corpus_file.path).samples
        except AudioDecodeError:
            continue
        windows = extract(samples, settings)
        groups.append(network.window_groups(samples, windows.starts_s, windows.ends_s))
        sources.extend([corpus_file.source] * len(windows.starts_s))
        if n and n % 500 == 0:
            log(f"pretrained network: {n}/{len(files)} files, {time.monotonic() - began:.0f} s")
    if not groups:
        return np.zeros((0, len(GROUP_NAMES)), np.float32), np.array([], dtype=str)
    return np.concatenate(groups).astype(np.float32), np.array(sources)


def load_or_compute(
    cache: Path | None, files: Sequence[CorpusFile], settings: FeatureSettings, expected_sources: np.ndarray
) -> np.ndarray:
    """The grouped scores from `cache` when it lines up with `expected_sources` (the windows of a
    saved cross-validation), else computed (and saved to `cache`, if given)."""
    if cache is not None and cache.exists():
        saved = np.load(cache)
        if len(saved["sources"]) == len(expected_sources) and (saved["sources"] == expected_sources).all():
            return saved["groups"]
        log(f"{cache} does not line up with these windows: computing again")
    groups, sources = pretrained_groups(files, settings)
    if len(sources) != len(expected_sources) or not (sources == expected_sources).all():
        raise ValueError("the pretrained network's windows do not line up with the cross-validation's")
    if cache is not None:
        np.savez_compressed(cache, groups=groups, sources=sources)
    return groups


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    from ml.training.presets import DEFAULT_PRESET, PRESETS

    groups, sources = pretrained_groups(scan_corpus(args.corpus), PRESETS[DEFAULT_PRESET].features)
    np.savez_compressed(args.out, groups=groups, sources=sources)
    log(f"{len(groups)} windows written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
