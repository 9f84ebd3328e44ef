"""The pretrained network's outputs for every window of the corpus, in the order the
cross-validation keeps its windows (ml.training.data.load_windows), for fitting and scoring
combiners without running the network again.

    python -m ml.research.pretrained_outputs --corpus ../shared/corpus --out var/pretrained.npz

Saves per window: the grouped scores (ml/pretrained.py), the mean of the 521 class scores and of
the 1,024-wide embedding (float16), with each window's source and label, and per file its window
count. About 3 ms per 0.975 s patch on one core: some minutes for the corpus.
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
from ml.pretrained import Pretrained, group_scores, patch_windows
from ml.training.data import scan_corpus


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    settings = FeatureSettings(kind="frames", normalise="window", log_mel_bands=32)
    network = Pretrained(embeddings=True)
    groups, scores, embeddings, sources, labels, counts, starts = [], [], [], [], [], [], []
    files = scan_corpus(args.corpus)
    began = time.monotonic()
    for n, corpus_file in enumerate(files):
        try:
            samples = decode(corpus_file.path).samples
        except AudioDecodeError:
            continue
        windows = extract(samples, settings)
        patch_scores, patch_embeddings = network.patch_outputs(samples)
        assert patch_embeddings is not None  # asked for at load
        rows = patch_windows(len(patch_scores), windows.starts_s, windows.ends_s)
        per_patch = group_scores(patch_scores)
        groups.append(np.stack([per_patch[r].mean(axis=0) for r in rows]))
        scores.append(np.stack([patch_scores[r].mean(axis=0) for r in rows]).astype(np.float16))
        embeddings.append(np.stack([patch_embeddings[r].mean(axis=0) for r in rows]).astype(np.float16))
        sources.extend([corpus_file.source] * len(rows))
        labels.extend([corpus_file.label_index] * len(rows))
        starts.append(windows.starts_s)
        counts.append(len(rows))
        if n % 200 == 0:
            print(f"{n}/{len(files)} files, {time.monotonic() - began:.0f} s", flush=True)
    np.savez_compressed(
        args.out,
        groups=np.concatenate(groups),
        scores=np.concatenate(scores),
        embeddings=np.concatenate(embeddings),
        sources=np.array(sources),
        labels=np.array(labels),
        starts_s=np.concatenate(starts),
        window_counts=np.array(counts),
    )
    print(f"{sum(counts)} windows of {len(counts)} files in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
