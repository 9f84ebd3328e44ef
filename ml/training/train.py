"""Train a model on a MUSAN-layout corpus and write it with its metadata and held-out evaluation.

    python -m ml.training.train --corpus ../shared/corpus --out ml/models/mfcc/ [--preset cnn] [--seed 0]

Presets are in ml/training/presets.py.

With ``--from-crossval CV.json CV.npz`` (what `make train` does) the model is trained on every
source; the epochs, the calibration and the "unsure" margin come from that cross-validation.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ml.decision import Calibration
from ml.training import networks as keras_models
from ml.training.combine import combination_metadata, combine
from ml.training.data import (
    fingerprint,
    load_windows,
    scan_corpus,
    split_by_source,
)
from ml.training.evaluate import evaluate_windows, format_evaluation
from ml.training.fitting import (
    fit,
    fit_one,
    model_metadata,
    save_model,
    training_windows,
    validation_combiner,
    window_groups,
)
from ml.training.outputs import FoldOutputs, summary
from ml.training.presets import DEFAULT_PRESET, PRESETS
from ml.training.progress import log
from ml.training.uncertainty import tables


def train_on_every_source(args) -> int:
    """The shipped model: every source of the corpus in training, nothing held out. What held-out
    sources would have told (when to stop, how to calibrate, when to say "unsure") comes from
    the cross-validation of the same preset, whose figures are the ones to report."""
    started = time.monotonic()
    cv_json, cv_npz = args.from_crossval
    crossval = json.loads(cv_json.read_text())
    cross_validated = PRESETS.get(crossval.get("preset", ""))
    if cross_validated is None or cross_validated.network_recipe() != PRESETS[args.preset].network_recipe():
        raise SystemExit(
            f"{cv_json} cross-validated {crossval.get('preset')!r}, not {args.preset!r}'s network"
        )
    epochs = args.epochs or max(1, int(np.median(crossval["kept_epochs"])))
    preset = dataclasses.replace(PRESETS[args.preset], epochs=epochs)
    outputs = FoldOutputs.load(cv_npz, crossval)
    # One calibration for the pooled held-out outputs of every fold: what unseen sources look like.
    calibration = Calibration.fit(outputs.raw, outputs.windows.labels, class_bias=preset.class_bias)
    combined = None
    if preset.combine_pretrained:
        combined = combine(outputs, calibration, args.corpus, args.preset, args.pretrained_cache)
    # The "unsure" margin is chosen on the outputs the served model gives: combined where it combines.
    margin = tables(outputs, preset.features, combined.nested if combined else None)["chosen_margin"]
    files = scan_corpus(args.corpus)
    corpus_fingerprint = fingerprint(files)  # now, not after hours of training
    log(
        f"{len(files)} files, every source in training; {epochs} epochs; calibration {calibration}; margin {margin}"
    )
    noise_files = [f for f in files if f.label == "noise"]
    train = training_windows(files, preset, noise_files, args.seed)
    members = [fit_one(preset, train, None, args.seed + 1000 * i)[0] for i in range(preset.ensemble)]
    model = members[0] if len(members) == 1 else keras_models.average(members)
    sources = sorted({f.source for f in files})
    metadata = model_metadata(
        args.preset,
        preset,
        corpus_fingerprint,
        calibration,
        {"train": sources, "validation": [], "test": []},
        args.seed,
        started,
    )
    metadata["uncertain_margin"] = margin
    metadata["crossval"] = {
        "file": cv_json.name,
        "folds": crossval["folds"],
        "summary": summary(crossval),
    }
    if combined is not None:
        metadata.update(combination_metadata(combined))
    save_model(model, metadata, args.out)
    stale = args.out / "evaluation.json"  # trained on every source: there is no held-out test split to report
    if stale.exists():
        stale.unlink()
    log(f"wrote {args.out} in {time.monotonic() - started:.0f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="override the preset's epoch cap")
    parser.add_argument(
        "--from-crossval",
        nargs=2,
        type=Path,
        metavar=("CV.json", "CV.npz"),
        help="train on every source: epochs, calibration and the uncertainty margin come from this "
        "cross-validation of the same preset's network (ml.training.crossval --json --probabilities)",
    )
    parser.add_argument(
        "--pretrained-cache",
        type=Path,
        help="with --from-crossval: the pretrained network's outputs for the corpus (.npz), made if missing",
    )
    args = parser.parse_args(argv)
    if args.from_crossval:
        return train_on_every_source(args)
    started = time.monotonic()

    preset = PRESETS[args.preset]
    if args.epochs:
        preset = dataclasses.replace(preset, epochs=args.epochs)
    files = scan_corpus(args.corpus)
    corpus_fingerprint = fingerprint(files)  # now, not after hours of training
    split = split_by_source(files, seed=args.seed)
    log(
        f"{len(files)} files; split by source: "
        + json.dumps({name: len(sources) for name, sources in split.sources().items()})
    )
    noise_files = [f for f in split.train if f.label == "noise"]
    train = training_windows(split.train, preset, noise_files, args.seed)
    validation = load_windows(split.validation, preset.features)
    test = load_windows(split.test, preset.features)
    log(f"windows: train {len(train)}, validation {len(validation)}, test {len(test)}")

    model, calibration, _ = fit(preset, train, validation, args.seed)
    log(f"trained; calibration {calibration}")

    metadata = model_metadata(
        args.preset, preset, corpus_fingerprint, calibration, split.sources(), args.seed, started
    )
    test_probabilities = calibration.apply(keras_models.predict(model, test.features))
    if preset.combine_pretrained:
        combiner = validation_combiner(preset, split.validation, validation, calibration, model, args.corpus)
        metadata["combiner"] = combiner.to_dict()
        test_probabilities = combiner.apply(test_probabilities, window_groups(split.test, test, preset))
    decision = {"smoothing_windows": metadata["smoothing_windows"]}  # calibrated (and combined) already
    evaluation = evaluate_windows(test_probabilities, test, preset.features, decision)
    evaluation["model_version"] = metadata["model_version"]
    save_model(model, metadata, args.out)
    (args.out / "evaluation.json").write_text(json.dumps(evaluation, indent=2) + "\n")
    print(format_evaluation(evaluation))
    log(f"wrote {args.out} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
