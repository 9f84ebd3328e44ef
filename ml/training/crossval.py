"""Grouped cross-validation by source: the honest yardstick for recordings a model never heard.

    python -m ml.training.crossval --corpus ../shared/corpus [--preset cnn2d] [--folds 4] [--json OUT]
        [--probabilities OUT.npz]

Each class's sources are dealt into k folds; each fold is scored by a model trained on the
others (one more source per class held aside from those for early stopping and calibration).
Augmentation mixes in noise only from that fold's training sources, so nothing held out leaks
in. Predictions from all folds are pooled into one table at segment and at file level, plus a
table for mixtures of held-out files (ml/training/mixtures.py), where the class changes within a file.
The same networks are scored again without the class bias and without smoothing, so what each
part of the decision rule buys is measured, not assumed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ml.decision import Calibration
from ml.training.data import (
    WindowSet,
    assert_disjoint,
    load_windows,
    scan_corpus,
    source_folds,
    split_by_source,
    subset,
)
from ml.training.evaluate import format_evaluation, format_table
from ml.training.fitting import fit, training_windows
from ml.training.mixtures import mixture_windows
from ml.training.outputs import FoldOutputs, summary
from ml.training.presets import DEFAULT_PRESET, PRESETS, Preset
from ml.training.progress import log

MIXTURES_PER_FOLD = 40


def crossvalidate(
    corpus: Path,
    preset: Preset,
    folds: int,
    seed: int,
    verbose: int = 0,
    probabilities_out: Path | None = None,
) -> dict:
    from ml.training import networks as keras_models

    files = scan_corpus(corpus)
    clean = load_windows(files, preset.features)
    raw_probabilities = np.zeros((len(clean), 3), dtype=np.float32)
    fold_of = np.full(len(clean), -1)
    calibrations, kept_epochs = [], []
    mixture_parts, mixture_raw = [], []
    for k, held_out_list in enumerate(source_folds(files, folds, seed)):
        held_out = set(held_out_list)
        rest = [f for f in files if f.source not in held_out]
        inner = split_by_source(rest, seed=seed + k, test_fraction=0.0, val_fraction=0.15)
        train_files = inner.train + inner.test
        assert_disjoint({f.source for f in train_files} | {f.source for f in inner.validation}, held_out)
        log(f"fold {k + 1}/{folds}: holding out {sorted(held_out)}")
        noise_files = [f for f in train_files if f.label == "noise"]
        if preset.augment_passes or preset.synthetic_noise_s:
            train = training_windows(train_files, preset, noise_files, seed + k)
        else:
            train = subset(clean, {f.source for f in train_files})
        validation = subset(clean, {f.source for f in inner.validation})
        model, calibration, epochs = fit(preset, train, validation, seed + k, verbose=verbose)
        calibrations.append(calibration)
        kept_epochs.extend(epochs)
        rows = np.isin(clean.sources, list(held_out))
        raw_probabilities[rows] = keras_models.predict(model, clean.features[rows])
        fold_of[rows] = k
        held_out_files = [f for f in files if f.source in held_out]
        mixtures = mixture_windows(held_out_files, preset.features, MIXTURES_PER_FOLD, seed + k)
        mixture_parts.append(mixtures)
        mixture_raw.append(keras_models.predict(model, mixtures.features))
    outputs = FoldOutputs(
        raw=raw_probabilities,
        fold_of=fold_of,
        windows=clean,
        calibrations=calibrations,
        mixture_raw=np.concatenate(mixture_raw),
        mixture_fold=np.repeat(np.arange(len(mixture_raw)), [len(p) for p in mixture_raw]),
        mixtures=WindowSet.concat(mixture_parts),
    )
    if probabilities_out:
        outputs.save(probabilities_out)
    evaluation = outputs.score(preset.features)
    if preset.class_bias:
        # What the class bias bought, from the same networks: temperature scaling alone.
        evaluation["without_class_bias"] = summary(
            outputs.score(preset.features, lambda c: Calibration(c.temperature))
        )
    # What the timeline smoothing bought, from the same networks: every window on its own.
    evaluation["without_smoothing"] = summary(outputs.score(preset.features, smoothing_windows=1))
    evaluation.update(
        folds=folds,
        seed=seed,
        temperatures=[c.temperature for c in calibrations],
        class_biases=[list(c.class_bias) for c in calibrations],
        kept_epochs=kept_epochs,
        held_out_sources=[sorted(fold) for fold in source_folds(files, folds, seed)],
    )
    return evaluation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every cross-validating command shares."""
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--probabilities", type=Path, help="also write every window's raw output (.npz)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    started = time.monotonic()
    evaluation = crossvalidate(
        args.corpus, PRESETS[args.preset], args.folds, args.seed, probabilities_out=args.probabilities
    )
    evaluation["preset"] = args.preset
    print(f"Preset {args.preset}: {args.folds}-fold cross-validation by source (seed {args.seed})")
    print(format_evaluation(evaluation))
    print(f"\nEpochs kept by early stopping: {evaluation['kept_epochs']}")
    print()
    print(
        format_table(
            evaluation["mixtures"], f"Mixtures ({MIXTURES_PER_FOLD} per fold: held-out files end to end)"
        )
    )
    print(f"\nWith smoothing (as shipped): {summary(evaluation)}")
    print(f"Without smoothing (each window alone): {evaluation['without_smoothing']}")
    if "without_class_bias" in evaluation:
        print(f"Without the class bias (temperature scaling alone): {evaluation['without_class_bias']}")
    log(f"done in {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(evaluation, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
