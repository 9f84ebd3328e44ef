"""Score saved cross-validation outputs under other smoothing widths, without training again.

    python -m ml.training.crossval --corpus ../shared/corpus --json CV.json --probabilities CV.npz
    python -m ml.research.rescore CV.json CV.npz [--smoothing 1 3 5 9]

One row per width, from the very networks, folds and calibrations of that run: a wider median
helps one-class files and can hurt recordings whose class changes (the mixtures).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ml.training.outputs import FoldOutputs, summary
from ml.training.presets import PRESETS


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evaluation", type=Path, help="what `ml.training.crossval --json` wrote")
    parser.add_argument("probabilities", type=Path, help="what `ml.training.crossval --probabilities` wrote")
    parser.add_argument("--smoothing", type=int, nargs="+", default=[1, 3, 5, 9])
    args = parser.parse_args(argv)
    evaluation = json.loads(args.evaluation.read_text())
    try:
        outputs = FoldOutputs.load(args.probabilities, evaluation)
    except KeyError as missing:
        parser.error(
            f"{args.probabilities} or {args.evaluation} lacks {missing}: re-run ml.training.crossval with --json and --probabilities"
        )
    settings = PRESETS[evaluation["preset"]].features
    print(f"Preset {evaluation['preset']}, {len(outputs.raw)} held-out windows")
    for width in args.smoothing:
        row = summary(outputs.score(settings, smoothing_windows=width))
        print(
            f"median of {width} window(s): " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
