"""Keras networks for training, registered by name, each with input standardisation built in.

A Normalization layer adapted on the training features is the model's first layer, so no caller
can forget to standardise (the seed's web app did). Class order is fixed: music, speech, noise.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402  (after the log level, so TensorFlow starts quietly)

from ml import CLASS_NAMES  # noqa: E402
from ml.features import N_MFCC  # noqa: E402

KERAS_FILE = "model.keras"
ARCHITECTURES: dict[str, Callable[[tuple[int, ...], keras.layers.Normalization], keras.Model]] = {}


def register(name: str):
    def wrap(builder):
        ARCHITECTURES[name] = builder
        return builder

    return wrap


@register("seed")
def seed_mlp(input_shape: tuple[int, ...], normalise: keras.layers.Normalization) -> keras.Model:
    """The published seed exactly: Dense 128 -> Dropout 0.3 -> Dense 64 -> Dropout 0.3 -> 3."""
    inputs = keras.Input(shape=input_shape, name="features")
    x = normalise(inputs)
    x = keras.layers.Dense(128, activation="relu")(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    x = keras.layers.Dropout(0.3)(x)
    outputs = keras.layers.Dense(len(CLASS_NAMES), activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="seed_mlp")


def conv1d_block(x, filters: int, width: int):
    x = keras.layers.Conv1D(filters, width, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    return keras.layers.Activation("relu")(x)


def classifier_head(pooled):
    x = keras.layers.Dropout(0.4)(pooled)
    x = keras.layers.Dense(64, activation="relu")(x)
    x = keras.layers.Dropout(0.3)(x)
    return keras.layers.Dense(len(CLASS_NAMES), activation="softmax", name="classes")(x)


def mfcc_branch(x):
    """1-D convolutions over time across all MFCC (+ delta) columns: rhythm and syllables."""
    for filters in (48, 64):
        x = conv1d_block(x, filters, 5)
        x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.Conv1D(96, 3, padding="same", activation="relu")(x)
    return [keras.layers.GlobalAveragePooling1D()(x), keras.layers.GlobalMaxPooling1D()(x)]


@register("cnn")
def frame_cnn(input_shape: tuple[int, ...], normalise: keras.layers.Normalization) -> keras.Model:
    """A small 1-D CNN over the MFCC + delta (+ log-mel) frames of a window."""
    inputs = keras.Input(shape=input_shape, name="frames")
    x = keras.layers.GaussianNoise(0.1)(normalise(inputs))
    outputs = classifier_head(keras.layers.Concatenate()(mfcc_branch(x)))
    return keras.Model(inputs, outputs, name="frame_cnn")


def columns(x, start: int, stop: int, total: int):
    """Feature columns start:stop of (batch, frames, total), with standard (serialisable) layers."""
    by_column = keras.layers.Permute((2, 1))(x)
    kept = keras.layers.Cropping1D((start, total - stop))(by_column)
    return keras.layers.Permute((2, 1))(kept)


@register("cnn2d")
def two_branch_cnn(input_shape: tuple[int, ...], normalise: keras.layers.Normalization) -> keras.Model:
    """The 1-D CNN over MFCC + delta frames, beside a 2-D CNN over the log-mel bands (time x
    frequency): the 2-D filters see a harmonic or a sweep wherever in pitch it lies, so they carry
    over between sources better than filters tied to one band. Needs ``log_mel_bands`` > 0."""
    frames, width = input_shape
    inputs = keras.Input(shape=input_shape, name="frames")
    x = keras.layers.GaussianNoise(0.1)(normalise(inputs))
    mfcc_width = 2 * N_MFCC  # MFCC and delta columns come first (ml/features.py)
    mel = keras.layers.Reshape((frames, width - mfcc_width, 1))(columns(x, mfcc_width, width, width))
    for filters in (16, 32, 48):
        mel = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(mel)
        mel = keras.layers.BatchNormalization()(mel)
        mel = keras.layers.Activation("relu")(mel)
        mel = keras.layers.MaxPooling2D(2)(mel)
    pooled = [*mfcc_branch(columns(x, 0, mfcc_width, width)), keras.layers.GlobalAveragePooling2D()(mel)]
    outputs = classifier_head(keras.layers.Concatenate()(pooled))
    return keras.Model(inputs, outputs, name="two_branch_cnn")


def build(arch: str, training_features: np.ndarray) -> keras.Model:
    """A compiled model of `arch`, its Normalization adapted on `training_features`."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose from {sorted(ARCHITECTURES)}")
    normalise = keras.layers.Normalization(axis=-1, name="standardise")
    normalise.adapt(training_features.reshape(-1, training_features.shape[-1]))
    model = ARCHITECTURES[arch](training_features.shape[1:], normalise)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="categorical_crossentropy",  # one-hot or mixed targets (ml/training/batches.py)
        metrics=["accuracy"],
    )
    return model


def average(members: list[keras.Model]) -> keras.Model:
    """One model whose output is the mean of `members`' probabilities (an ensemble in one file)."""
    inputs = keras.Input(shape=members[0].input_shape[1:], name="features")
    for i, member in enumerate(members):
        member.name = f"member_{i}"
    outputs = keras.layers.Average(name="classes")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name=f"ensemble_of_{len(members)}")


def load(path: str | os.PathLike) -> keras.Model:
    with warnings.catch_warnings():
        # An ensemble's members were saved with their optimizers, which inference never needs.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        return keras.models.load_model(path, compile=False)


def predict(model: keras.Model, features: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Class probabilities for every window, in batches: a direct call, not model.predict,
    which costs ~50 ms of overhead per call."""
    if len(features) == 0:
        return np.zeros((0, len(CLASS_NAMES)), dtype=np.float32)
    batches = [
        np.asarray(model(features[start : start + batch_size], training=False))
        for start in range(0, len(features), batch_size)
    ]
    return np.concatenate(batches).astype(np.float32)


def to_tflite(model: keras.Model) -> bytes:
    """The model as TensorFlow Lite (what serving runs, ml/network.py); outputs match Keras's to
    about 1e-6 (tests/ml/test_served_network.py)."""
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model).convert()
