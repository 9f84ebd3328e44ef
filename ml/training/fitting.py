"""The training library: training windows (augmented, with synthetic noise), fitting a network
with its calibration, the metadata and files a served model is saved as. The CLIs
(ml/training/train.py, ml/training/crossval.py) import it and never each other."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import random
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import keras
import numpy as np
import tensorflow

from ml import CLASS_NAMES
from ml.decision import DEFAULT_SMOOTHING_WINDOWS, Calibration
from ml.features import FeatureSettings, extract
from ml.inference import METADATA_FILE
from ml.network import MODEL_FILE as SERVED_FILE
from ml.training import networks as keras_models
from ml.training.augment import Augmenter, synthetic_noise
from ml.training.batches import training_batches
from ml.training.combine import Setting, fit_combiner
from ml.training.data import (
    CorpusFile,
    WindowSet,
    balanced_weights,
    load_windows,
    source_balanced_weights,
)
from ml.training.origins import source_kinds
from ml.training.presets import Preset
from ml.training.pretrained_outputs import pretrained_groups
from ml.training.progress import log


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def synthetic_noise_windows(settings: FeatureSettings, seconds: float, seed: int) -> WindowSet:
    """Windows of procedurally generated noise, as a source of their own ("noise/synthetic")."""
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
    fitted = [fit_one(preset, train, validation, seed + 1000 * i, verbose) for i in range(preset.ensemble)]
    members = [member for member, _ in fitted]
    model = members[0] if len(members) == 1 else keras_models.average(members)
    probabilities = keras_models.predict(model, validation.features)
    calibration = Calibration.fit(probabilities, validation.labels, class_bias=preset.class_bias)
    return model, calibration, [epochs for _, epochs in fitted]


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "librosa": metadata.version("librosa"),  # its version only: importing it costs seconds
        "numpy": np.__version__,
        "scikit-learn": metadata.version("scikit-learn"),
    }


def model_metadata(
    name: str, preset: Preset, corpus_fingerprint: str, calibration, split: dict, seed: int, started: float
) -> dict:
    """What a trained model is saved with. `corpus_fingerprint` is taken when the corpus is read,
    before training: a corpus that changes during a long run cannot fail the run at its end."""
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
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / keras_models.KERAS_FILE)
    (folder / SERVED_FILE).write_bytes(keras_models.to_tflite(model))
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")


def window_groups(files, windows: WindowSet, preset: Preset) -> np.ndarray:
    """The pretrained network's grouped scores for `windows` (the load_windows of `files`)."""
    groups, sources = pretrained_groups(files, preset.features)
    if len(sources) != len(windows) or not (sources == windows.sources.astype(str)).all():
        raise ValueError("the pretrained network's windows do not line up with the MFCC network's")
    return groups


def validation_combiner(preset: Preset, files, validation: WindowSet, calibration, model, corpus: Path):
    """The preset's combiner for a run without a cross-validation (admin's training): a weighted
    mean as the shipped cross-validation chose it, or a logistic one fitted on the validation
    sources, which the network did not train on."""
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
