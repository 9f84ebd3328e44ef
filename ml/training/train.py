"""Train a model on a MUSAN-layout corpus and write it with its metadata and held-out evaluation.

    python -m ml.training.train --corpus ../shared/corpus --out ml/models/mfcc/ [--preset cnn] [--seed 0]

Presets are in ml/training/presets.py.

With ``--from-crossval CV.json CV.npz`` (what `make train` does) the model is trained on every
source; the epochs, the calibration and the "unsure" margin come from that cross-validation.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import platform
import random
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ml import CLASS_NAMES
from ml.decision import DEFAULT_SMOOTHING_WINDOWS
from ml.features import FeatureSettings
from ml.training.data import (
    WindowSet,
    balanced_weights,
    fingerprint,
    load_windows,
    scan_corpus,
    source_balanced_weights,
    split_by_source,
)
from ml.training.presets import DEFAULT_PRESET, PRESETS, Preset
from ml.training.progress import log


def seed_everything(seed: int) -> None:
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def synthetic_noise_windows(settings: FeatureSettings, seconds: float, seed: int) -> WindowSet:
    """Windows of procedurally generated noise, as a source of their own ("noise/synthetic")."""
    from ml.features import extract
    from ml.training.augment import synthetic_noise
    from ml.training.data import CorpusFile

    rng = np.random.default_rng(seed)
    pieces = [extract(synthetic_noise(10.0, rng), settings).features for _ in range(int(seconds // 10))]
    features = np.concatenate(pieces)
    noise = CLASS_NAMES.index("noise")
    return WindowSet(
        features=features,
        labels=np.full(len(features), noise),
        file_ids=np.repeat(np.arange(len(pieces)), [len(p) for p in pieces]),
        sources=np.full(len(features), "noise/synthetic", dtype=object),
        files=[CorpusFile(Path(f"synthetic-{i}"), "noise", "noise/synthetic") for i in range(len(pieces))],
    )


def training_windows(files, preset: Preset, noise_files, seed: int) -> WindowSet:
    """The clean windows of `files`, `augment_passes` randomly augmented copies, and synthetic
    noise if the preset asks for it."""
    from ml.training.augment import Augmenter

    parts = [load_windows(files, preset.features)]
    for n in range(preset.augment_passes):
        log(f"augmented pass {n + 1}/{preset.augment_passes}")
        parts.append(
            load_windows(
                files, preset.features, Augmenter(noise_files, seed=seed * 100 + n, skip=preset.augment_skip)
            )
        )
    if preset.synthetic_noise_s:
        parts.append(synthetic_noise_windows(preset.features, preset.synthetic_noise_s, seed))
    return WindowSet.concat(parts)


def fit_one(preset: Preset, train: WindowSet, validation: WindowSet | None, seed: int, verbose: int = 2):
    """One network, trained with balanced weights and early stopping on validation loss; with
    the epoch it kept (what a run without validation sources should train for). Without
    validation windows it trains for exactly `preset.epochs`."""
    import keras

    from ml.training import networks as keras_models
    from ml.training.batches import training_batches

    seed_everything(seed)
    model = keras_models.build(preset.arch, train.features)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=6, restore_best_weights=True, verbose=0)
    by_source = preset.weighting == "source"
    weigh = source_balanced_weights if by_source else balanced_weights
    batches = training_batches(
        train.features,
        train.labels,
        weigh(train),
        preset.batch_size,
        seed,
        spec_augment_on=preset.spec_augment,
        mixup_strength=preset.mixup,
        draw_by_weight=by_source,
    )
    if validation is None:
        model.fit(batches, shuffle=False, epochs=preset.epochs, verbose=verbose)
        return model, preset.epochs
    one_hot = np.eye(len(CLASS_NAMES), dtype=np.float32)[validation.labels]
    model.fit(
        batches,
        validation_data=(validation.features, one_hot, weigh(validation)),
        validation_batch_size=512,
        shuffle=False,  # the batches reshuffle themselves every epoch
        epochs=preset.epochs,
        callbacks=[stop],
        verbose=verbose,
    )
    best_epoch = int(stop.best_epoch) + 1 if stop.stopped_epoch else preset.epochs
    log(f"kept epoch {best_epoch}")
    return model, best_epoch


def fit(preset: Preset, train: WindowSet, validation: WindowSet, seed: int, verbose: int = 2):
    """The preset's model (an average of `ensemble` networks trained from different seeds, saved
    as one Keras model) and the calibration fitted for it on the validation windows."""
    from ml.decision import Calibration
    from ml.training import networks as keras_models

    fitted = [fit_one(preset, train, validation, seed + 1000 * i, verbose) for i in range(preset.ensemble)]
    members = [member for member, _ in fitted]
    model = members[0] if len(members) == 1 else keras_models.average(members)
    probabilities = keras_models.predict(model, validation.features)
    calibration = Calibration.fit(probabilities, validation.labels, class_bias=preset.class_bias)
    return model, calibration, [epochs for _, epochs in fitted]


def library_versions() -> dict[str, str]:
    import keras
    import librosa
    import sklearn
    import tensorflow

    return {
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "librosa": librosa.__version__,  # type: ignore[attr-defined]
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }


def model_metadata(
    name: str, preset: Preset, files, calibration, split: dict, seed: int, started: float
) -> dict:
    corpus_fingerprint = fingerprint(files)
    recipe = dataclasses.asdict(preset)
    recipe_hash = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:4]
    return {
        # preset, day, corpus and recipe: two models with one version were trained alike.
        "model_version": f"{name}-{datetime.now(UTC):%Y%m%d}-{corpus_fingerprint[:6]}-{recipe_hash}-s{seed}",
        "preset": name,
        "arch": preset.arch,
        "class_names": list(CLASS_NAMES),
        "features": preset.features.to_dict(),
        "recipe": recipe,
        "temperature": calibration.temperature,
        "class_bias": list(calibration.class_bias),
        "smoothing_windows": DEFAULT_SMOOTHING_WINDOWS,
        "corpus_fingerprint": corpus_fingerprint,
        "split": split,
        "seed": seed,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_seconds": round(time.monotonic() - started, 1),
        "libraries": library_versions(),
    }


def save_model(model, metadata: dict, folder: Path) -> None:
    """The Keras model (for training), its TensorFlow Lite conversion (what serving runs) and
    the metadata."""
    from ml.inference import METADATA_FILE
    from ml.network import MODEL_FILE as SERVED_FILE
    from ml.training import networks as keras_models

    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / keras_models.KERAS_FILE)
    (folder / SERVED_FILE).write_bytes(keras_models.to_tflite(model))
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")


def window_groups(files, windows: WindowSet, preset: Preset) -> np.ndarray:
    """The pretrained network's grouped scores for `windows` (the load_windows of `files`)."""
    from ml.training.pretrained_outputs import pretrained_groups

    groups, sources = pretrained_groups(files, preset.features)
    if len(sources) != len(windows) or not (sources == windows.sources.astype(str)).all():
        raise ValueError("the pretrained network's windows do not line up with the MFCC network's")
    return groups


def validation_combiner(preset: Preset, files, validation: WindowSet, calibration, model, corpus: Path):
    """The preset's combiner for a run without a cross-validation (admin's training): a weighted
    mean as the shipped cross-validation chose it, or a logistic one fitted on the validation
    sources, which the network did not train on."""
    from ml.training import networks as keras_models
    from ml.training.combine import Setting, fit_combiner
    from ml.training.origins import source_kinds

    calibrated = calibration.apply(keras_models.predict(model, validation.features))
    kinds = source_kinds(corpus)
    setting = Setting(
        preset.combiner_kind,
        preset.combiner_pretrained_weight,
        preset.combiner_C,
        preset.combiner_game_weight,
    )
    sources = validation.sources.astype(str)
    groups = window_groups(files, validation, preset)
    return fit_combiner(calibrated, groups, validation.labels, sources, kinds, setting)


def train_on_every_source(args) -> int:
    """The shipped model: every source of the corpus in training, nothing held out. What held-out
    sources would have told (when to stop, how to calibrate, when to say "unsure") comes from
    the cross-validation of the same preset, whose figures are the ones to report."""
    from ml.decision import Calibration
    from ml.training import networks as keras_models
    from ml.training.outputs import FoldOutputs, summary
    from ml.training.uncertainty import tables

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
        from ml.training.combine import combine

        combined = combine(outputs, calibration, args.corpus, args.preset, args.pretrained_cache)
    # The "unsure" margin is chosen on the outputs the served model gives: combined where it combines.
    margin = tables(outputs, preset.features, combined.nested if combined else None)["chosen_margin"]
    files = scan_corpus(args.corpus)
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
        files,
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
        from ml.training.combine import combination_metadata

        metadata.update(combination_metadata(combined))
    save_model(model, metadata, args.out)
    stale = args.out / "evaluation.json"  # a held-out test split no longer exists for this model
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

    from ml.training import networks as keras_models
    from ml.training.evaluate import evaluate_windows, format_evaluation

    metadata = model_metadata(args.preset, preset, files, calibration, split.sources(), args.seed, started)
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
