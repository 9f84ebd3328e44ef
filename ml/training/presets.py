"""The training recipes by name: data, so a comparison can always be re-run by naming it.

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
- ``cnn2d-sources``: one cnn2d network whose batches are drawn so that every source of a class
  gets the same share (``weighting="source"``).
- ``cnn2d-yamnet`` (the default): the cnn2d-sources network beside the pretrained AudioSet
  network (ml/pretrained.py, frozen), their opinions joined by a small combiner fitted on
  held-out outputs (ml/training/combine.py). Its cross-validation is cnn2d-sources' (the same
  network), combined by ``python -m ml.training.combine``.

"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ml.features import FeatureSettings


@dataclass(frozen=True)
class Preset:
    arch: str
    features: FeatureSettings
    augment_passes: int = 0
    # Seconds of procedurally generated noise added to the noise class (see ml/training/augment.py).
    synthetic_noise_s: float = 0.0
    # Augmentations to leave out (names in ml.training.augment.AUGMENTATIONS), for ablations.
    augment_skip: tuple[str, ...] = ()
    # Networks averaged into the shipped model (each trained from its own seed).
    ensemble: int = 1
    # Feature-level augmentation of every batch (ml/training/batches.py): SpecAugment masks, and the
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
    # Join the MFCC network's opinion with the pretrained network's (ml/combiner.py). Training from
    # a cross-validation chooses the combiner on its real-world sources (ml/training/combine.py); a
    # run without one (admin's) uses this one, the cross-validation's choice for cnn2d-yamnet.
    combine_pretrained: bool = False
    combiner_kind: str = "mean"
    combiner_pretrained_weight: float = 0.7
    combiner_C: float = 0.3
    combiner_game_weight: float = 1.0

    def network_recipe(self) -> Preset:
        """The MFCC network's part of the recipe: two presets with the same one share a
        cross-validation."""
        return dataclasses.replace(
            self,
            combine_pretrained=False,
            combiner_kind="mean",
            combiner_pretrained_weight=0.7,
            combiner_C=0.3,
            combiner_game_weight=1.0,
        )


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
# The cnn2d-sources network, combined with the pretrained network's grouped scores.
PRESETS["cnn2d-yamnet"] = dataclasses.replace(PRESETS["cnn2d-sources"], combine_pretrained=True)
DEFAULT_PRESET = "cnn2d-yamnet"
