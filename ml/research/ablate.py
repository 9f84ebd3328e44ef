"""What each ingredient buys: cross-validate a preset with each one left out.

    python -m ml.research.ablate --corpus ../shared/corpus [--preset cnn2d] [--folds 4] [--only NAME ...] [--json OUT]

Prints one row per variant (all, without X for each augmentation, without synthetic noise, no
augmentation at all, and, where the preset has them, without SpecAugment, mixup, the 2-D branch
or envelope normalisation): segment, file and mixture macro-F1 and noise recall, from the same
folds and seed. `python -m ml.training.crossval` itself reports what the class bias and the smoothing
bought, from the same networks; `python -m ml.research.rescore` tries other smoothing widths.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence

from ml.training.augment import AUGMENTATIONS
from ml.training.crossval import add_arguments, crossvalidate
from ml.training.outputs import summary
from ml.training.presets import PRESETS
from ml.training.progress import log


def variants(preset_name: str) -> dict:
    # One network per variant (not the shipped ensemble), so the whole table runs in about an hour.
    base = dataclasses.replace(PRESETS[preset_name], ensemble=1)
    table = {"all": dataclasses.replace(base, augment_skip=())}
    for name in AUGMENTATIONS:
        table[f"without {name}"] = dataclasses.replace(base, augment_skip=(name,))
    table["without synthetic noise"] = dataclasses.replace(base, synthetic_noise_s=0.0)
    table["no augmentation"] = dataclasses.replace(base, augment_passes=0, synthetic_noise_s=0.0)
    if base.spec_augment:
        table["without spec augment"] = dataclasses.replace(base, spec_augment=False)
    if base.mixup:
        table["without mixup"] = dataclasses.replace(base, mixup=0.0)
    if base.arch == "cnn2d":
        table["without the 2-D branch"] = dataclasses.replace(base, arch="cnn")
    if base.features.normalise == "envelope":
        table["window normalisation"] = dataclasses.replace(
            base, features=dataclasses.replace(base.features, normalise="window")
        )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--only", nargs="*", help="run only these variants (names as printed)")
    args = parser.parse_args(argv)
    rows = {}
    for name, preset in variants(args.preset).items():
        if args.only and name not in args.only:
            continue
        log(f"variant: {name}")
        evaluation = crossvalidate(args.corpus, preset, args.folds, args.seed)
        rows[name] = summary(evaluation)
        print(f"{name:>26}: " + ", ".join(f"{k} {v:.3f}" for k, v in rows[name].items()), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
