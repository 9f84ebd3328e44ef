"""Train a model on a MUSAN-layout corpus and write it with its metadata and held-out evaluation.

    python -m ml.train --corpus ../shared/corpus --out ml/artifacts/ [--preset cnn] [--seed 0]

Presets (one name = features + architecture + augmentation, so comparisons can always be re-run):
- ``seed``: the published method, MFCC means into the seed MLP (with standardisation fixed).
- ``mlp``: the seed MLP on richer statistics (means and deviations of MFCCs and deltas).
- ``cnn``: three 1-D CNNs over MFCC + delta + 32-band log-mel frames, normalised per window,
  trained with two augmented passes and 20 minutes of synthetic noise, averaged.
- ``cnn2d``: as ``cnn``, but each network adds a 2-D CNN over the log-mel bands,
  batches are masked (SpecAugment) and mixed (mixup) afresh every epoch, and a per-class bias
  fitted on the validation sources follows temperature scaling.
- ``cnn2d-envelope``: as ``cnn2d``, but the log-mel bands keep the peaks of the window's spectrum
  and lose only its smooth envelope (``normalise="envelope"`` in ml/features.py).
- ``cnn2d-1``: the cnn2d recipe as one network (the like-for-like baseline).
- ``cnn2d-sources`` (the default): one cnn2d network whose batches are drawn so that every source
  of a class gets the same share (``weighting="source"``).

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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ml import CLASS_NAMES
from ml.data import (
    WindowSet,
    balanced_weights,
    fingerprint,
    load_windows,
    scan_corpus,
    source_balanced_weights,
    split_by_source,
)
from ml.decision import DEFAULT_SMOOTHING_WINDOWS
from ml.features import FeatureSettings


@dataclass(frozen=True)
class Preset:
    arch: str
    features: FeatureSettings
    augment_passes: int = 0
    # Seconds of procedurally generated noise added to the noise class (see ml/augment.py).
    synthetic_noise_s: float = 0.0
    # Augmentations to leave out (names in ml.augment.AUGMENTATIONS), for ablations.
    augment_skip: tuple[str, ...] = ()
    # Networks averaged into the shipped model (each trained from its own seed).
    ensemble: int = 1
    # Feature-level augmentation of every batch (ml/batches.py): SpecAugment masks, and the
    # largest mixup weight (0 turns mixup off).
    spec_augment: bool = False
    mixup: float = 0.0
    # Fit per-class log-prior offsets on the validation sources after temperature scaling
    # (ml/decision.py): it moves the boundaries back where unseen sources put them.
    class_bias: bool = False
    # How training windows weigh: "sqrt" (a source by the square root of its size, within its
    # class) or "source" (every source of a class the same share, drawn so every batch shows it).
    weighting: str = "sqrt"
    epochs: int = 40
    batch_size: int = 64


PRESETS = {
    "seed": Preset("seed", FeatureSettings(kind="seed"), epochs=60),
    "mlp": Preset("seed", FeatureSettings(kind="stats"), epochs=60),
    "cnn": Preset(
        "cnn",
        FeatureSettings(kind="frames", normalise="window", log_mel_bands=32),
        augment_passes=2,
        synthetic_noise_s=1200,
        ensemble=3,
    ),
}
# The cnn recipe with a 2-D log-mel branch, batch-level SpecAugment and mixup, and a class bias.
PRESETS["cnn2d"] = dataclasses.replace(
    PRESETS["cnn"], arch="cnn2d", spec_augment=True, mixup=0.4, class_bias=True
)
# The cnn2d recipe on log-mel bands that keep the window's spectral peaks (held notes, chords).
PRESETS["cnn2d-envelope"] = dataclasses.replace(
    PRESETS["cnn2d"], features=dataclasses.replace(PRESETS["cnn2d"].features, normalise="envelope")
)
# The cnn2d recipe as one network: the like-for-like baseline for cnn2d-sources (the shipped
# cnn2d averaged three; its cross-validation takes three times as long).
PRESETS["cnn2d-1"] = dataclasses.replace(PRESETS["cnn2d"], ensemble=1)
# One cnn2d network (a third of the inference time), every source of a class drawn equally often.
PRESETS["cnn2d-sources"] = dataclasses.replace(PRESETS["cnn2d"], ensemble=1, weighting="source")
DEFAULT_PRESET = "cnn2d-sources"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def seed_everything(seed: int) -> None:
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def synthetic_noise_windows(settings: FeatureSettings, seconds: float, seed: int) -> WindowSet:
    """Windows of procedurally generated noise, as a source of their own ("noise/synthetic")."""
    from ml.augment import synthetic_noise
    from ml.data import CorpusFile
    from ml.features import extract

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
    from ml.augment import Augmenter

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

    from ml import model as keras_models
    from ml.batches import training_batches

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
    from ml import model as keras_models
    from ml.decision import Calibration

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
        "librosa": librosa.__version__,
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


def train_on_every_source(args) -> int:
    """The shipped model: every source of the corpus in training, nothing held out. What held-out
    sources would have told (when to stop, how to calibrate, when to say "unsure") comes from
    the cross-validation of the same preset, whose figures are the ones to report."""
    from ml import model as keras_models
    from ml.crossval import FoldOutputs, summary
    from ml.decision import Calibration
    from ml.inference import METADATA_FILE, MODEL_FILE
    from ml.uncertainty import tables

    started = time.monotonic()
    cv_json, cv_npz = args.from_crossval
    crossval = json.loads(cv_json.read_text())
    if crossval.get("preset") != args.preset:
        raise SystemExit(f"{cv_json} cross-validated {crossval.get('preset')!r}, not {args.preset!r}")
    epochs = args.epochs or max(1, int(np.median(crossval["kept_epochs"])))
    preset = dataclasses.replace(PRESETS[args.preset], epochs=epochs)
    outputs = FoldOutputs.load(cv_npz, crossval)
    # One calibration for the pooled held-out outputs of every fold: what unseen sources look like.
    calibration = Calibration.fit(outputs.raw, outputs.windows.labels, class_bias=preset.class_bias)
    in_context = None
    if args.context:
        from ml.context import nested_outputs

        in_context = nested_outputs(outputs)[2]
    margin = tables(outputs, preset.features, in_context)["chosen_margin"]
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
    if args.context:
        from ml.context import fit_on_crossval

        metadata["context"] = fit_on_crossval(outputs).to_dict()
    metadata["crossval"] = {
        "file": cv_json.name,
        "folds": crossval["folds"],
        "summary": summary(crossval),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / MODEL_FILE)
    (args.out / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
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
        "cross-validation of the same preset (ml.crossval --json --probabilities)",
    )
    parser.add_argument(
        "--context",
        action="store_true",
        help="with --from-crossval: add the context model (ml/context.py) fitted on its outputs",
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

    from ml import model as keras_models
    from ml.evaluate import evaluate_windows, format_evaluation
    from ml.inference import METADATA_FILE, MODEL_FILE

    args.out.mkdir(parents=True, exist_ok=True)
    metadata = model_metadata(args.preset, preset, files, calibration, split.sources(), args.seed, started)
    evaluation = evaluate_windows(keras_models.predict(model, test.features), test, preset.features, metadata)
    evaluation["model_version"] = metadata["model_version"]
    model.save(args.out / MODEL_FILE)
    (args.out / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    (args.out / "evaluation.json").write_text(json.dumps(evaluation, indent=2) + "\n")
    print(format_evaluation(evaluation))
    log(f"wrote {args.out} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
