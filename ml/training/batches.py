"""Training batches made fresh each epoch: shuffled, masked (SpecAugment) and mixed (mixup).

Audio augmentation (ml/training/augment.py) runs once, before features; these two run on the features of
every batch, so each epoch sees different variants at no decoding cost:

- SpecAugment (Park et al., 2019, arXiv:1904.08779) blanks two random stretches of time and two
  random bands of feature columns per window. Features are centred per window, so a blank reads
  as "average" rather than as silence. A model that cannot lean on any one band or moment has to
  use several cues, which is what carries over to sources it never heard.
- drawing by weight: instead of weighting each window's loss, every epoch draws its windows
  with replacement in proportion to their weights, so each batch holds each source and class in
  its share (a source of three long recordings is not one window in a hundred, weighted up).
- mixup (Zhang et al., 2018, arXiv:1710.09412) blends each window with another from the batch, by
  a weight drawn up to `mixup`, and blends the one-hot labels the same way; it softens the
  decision boundaries that a small corpus would otherwise draw tight around its own sources.
"""

from __future__ import annotations

import numpy as np

TIME_MASKS, TIME_MASK_FRAMES = 2, 12
FEATURE_MASKS, FEATURE_MASK_COLUMNS = 2, 8


def spec_augment(features, tf):
    """`features` (batch, frames, columns) with random stretches of frames and columns zeroed."""
    batch, frames, columns = tf.shape(features)[0], tf.shape(features)[1], tf.shape(features)[2]

    def stripes(count: int, size, max_width: int):
        """(batch, size) of ones with `count` random runs of up to `max_width` zeros."""
        positions = tf.range(size)[None, :]
        keep = tf.ones([batch, size], features.dtype)
        for _ in range(count):
            start = tf.random.uniform([batch, 1], 0, size, dtype=tf.int32)
            length = tf.random.uniform([batch, 1], 0, max_width, dtype=tf.int32)
            keep *= 1 - tf.cast((positions >= start) & (positions < start + length), features.dtype)
        return keep

    keep_frames = stripes(TIME_MASKS, frames, TIME_MASK_FRAMES)[:, :, None]
    keep_columns = stripes(FEATURE_MASKS, columns, FEATURE_MASK_COLUMNS)[:, None, :]
    return features * keep_frames * keep_columns


def mixup(features, targets, strength: float, tf):
    """Each window blended with a random partner from the batch, by a weight up to `strength`."""
    batch = tf.shape(features)[0]
    weight = tf.random.uniform([batch, 1], 0, strength)
    partner = tf.random.shuffle(tf.range(batch))
    share = tf.reshape(weight, [-1] + [1] * (len(features.shape) - 1))  # broadcast over any rank
    blended = features * (1 - share) + tf.gather(features, partner) * share
    return blended, targets * (1 - weight) + tf.gather(targets, partner) * weight


def training_batches(
    features: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    batch_size: int,
    seed: int,
    spec_augment_on: bool = False,
    mixup_strength: float = 0.0,
    classes: int = 3,
    draw_by_weight: bool = False,
):
    """A tf.data pipeline of (features, one-hot targets, weights), reshuffled every epoch; with
    `draw_by_weight`, windows drawn in proportion to `weights` (then each weighs 1)."""
    import tensorflow as tf

    def transform(x, y, w):
        targets = tf.one_hot(y, classes)
        if spec_augment_on and len(x.shape) == 3:
            x = spec_augment(x, tf)
        if mixup_strength:
            x, targets = mixup(x, targets, mixup_strength, tf)
        return x, targets, w

    if draw_by_weight:
        dataset = weighted_draws(features, labels, weights, batch_size, seed, tf)
    else:
        dataset = tf.data.Dataset.from_tensor_slices((features, labels.astype(np.int32), weights))
        dataset = dataset.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    return dataset.map(transform, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def weighted_draws(
    features: np.ndarray, labels: np.ndarray, weights: np.ndarray, batch_size: int, seed: int, tf
):
    """As many windows per epoch as there are, drawn with replacement in proportion to `weights`
    (inverse transform of the cumulative weights: O(log n) a draw), fresh every epoch."""
    cumulative = np.cumsum(weights, dtype=np.float64)
    cumulative = tf.constant(cumulative / cumulative[-1], tf.float64)
    all_features = tf.constant(features)
    all_labels = tf.constant(labels.astype(np.int32))
    generator = tf.random.Generator.from_seed(seed)

    def draw(_):
        picks = tf.searchsorted(cumulative, generator.uniform([batch_size], dtype=tf.float64), side="right")
        picks = tf.minimum(picks, len(labels) - 1)
        return tf.gather(all_features, picks), tf.gather(all_labels, picks), tf.ones([batch_size], tf.float32)

    steps = max(1, len(labels) // batch_size)
    return tf.data.Dataset.range(steps).map(draw)
