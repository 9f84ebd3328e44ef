"""The combiner is fitted on held-out outputs only, and chosen on real-world sources."""

from __future__ import annotations

import numpy as np
import pytest

from ml.combiner import Combiner
from ml.pretrained import GROUP_NAMES
from ml.training.combine import Setting, nested, window_weights
from ml.training.origins import GAME, REAL_WORLD, origin_kind


def synthetic_outputs(rng: np.random.Generator, windows: int = 600):
    """Four folds of windows from 24 sources: the pretrained groups know the class, the MFCC
    network is right only half of the time."""
    labels = rng.integers(0, 3, windows)
    sources = np.array([f"{['music', 'speech', 'noise'][label]}/s{rng.integers(8)}" for label in labels])
    fold_of = np.array([int(s[-1]) % 4 for s in sources])
    mfcc = rng.dirichlet(np.ones(3), windows).astype(np.float32)
    right = rng.random(windows) < 0.5
    mfcc[right] = np.eye(3, dtype=np.float32)[labels[right]] * 0.8 + 0.1 / 1.5
    groups = rng.random((windows, len(GROUP_NAMES))).astype(np.float32) * 0.2
    home = {0: GROUP_NAMES.index("music"), 1: GROUP_NAMES.index("speech"), 2: GROUP_NAMES.index("things")}
    groups[np.arange(windows), [home[label] for label in labels]] += 0.7
    return mfcc, groups, labels, sources, fold_of


def test_each_folds_windows_are_combined_by_a_combiner_that_never_saw_them():
    rng = np.random.default_rng(0)
    mfcc, groups, labels, sources, fold_of = synthetic_outputs(rng)
    before = nested(mfcc, groups, labels, sources, fold_of, {}, Setting("logistic"))
    scrambled = labels.copy()
    scrambled[fold_of == 0] = rng.permutation(scrambled[fold_of == 0])  # fold 0's truth changes
    after = nested(mfcc, groups, scrambled, sources, fold_of, {}, Setting("logistic"))
    np.testing.assert_array_equal(before[fold_of == 0], after[fold_of == 0])  # fitted without fold 0
    assert not np.allclose(before[fold_of != 0], after[fold_of != 0])  # fold 0 trained the others


def test_the_combiner_learns_which_opinion_to_trust():
    mfcc, groups, labels, sources, fold_of = synthetic_outputs(np.random.default_rng(1))
    combined = nested(mfcc, groups, labels, sources, fold_of, {}, Setting("logistic"))
    assert (combined.argmax(axis=1) == labels).mean() > 0.95 > (mfcc.argmax(axis=1) == labels).mean()


def test_a_combiner_survives_its_metadata():
    mfcc, groups, labels, sources, fold_of = synthetic_outputs(np.random.default_rng(2))
    from ml.training.combine import fit_combiner

    combiner = fit_combiner(mfcc, groups, labels, sources, {}, Setting("logistic", C=0.3))
    again = Combiner.from_dict(combiner.to_dict())
    np.testing.assert_allclose(again.apply(mfcc, groups), combiner.apply(mfcc, groups), atol=1e-5)


def test_game_sources_weigh_as_the_setting_says_and_every_class_the_same():
    labels = np.array([0, 0, 0, 1, 1, 2])
    sources = np.array(["music/game", "music/game", "music/field", "speech/a", "speech/b", "noise/c"])
    kinds = {"music/game": GAME, "music/field": REAL_WORLD}
    weights = window_weights(labels, sources, kinds, game_weight=0.0)
    assert weights[0] == weights[1] == 0 and weights[2] > 0
    weights = window_weights(labels, sources, kinds, game_weight=1.0)
    assert weights[:2].sum() == pytest.approx(weights[2]) and weights[3] == pytest.approx(weights[4])
    assert weights[:3].sum() == pytest.approx(weights[3:5].sum()) == pytest.approx(weights[5])


@pytest.mark.parametrize(
    ("origin", "kind"),
    [
        ("Debian hedgewars-data 1.0.2-6 (Sounds, not voices)", GAME),
        ("Debian asterisk-core-sounds-en-wav 1.6.1-1 (usr/share/asterisk/sounds)", REAL_WORLD),
        ("Debian lmms-common 1.2.2+dfsg1-6 (demo project)", REAL_WORLD),
        ("LCAV/pyroomacoustics@6fe43fecb7c3:examples/samples/guitar_44k.wav", REAL_WORLD),
        ("minetest-mirrors/mobs_animal@4950ef15ca78:sounds/mobs_chicken.1.ogg", GAME),
    ],
)
def test_sources_are_tagged_game_or_real_world_by_origin(origin, kind):
    assert origin_kind(origin) == kind


def test_the_weighted_mean_keeps_the_pretrained_networks_opinion_in_the_share_it_is_given():
    mfcc, groups, labels, sources, fold_of = synthetic_outputs(np.random.default_rng(3))
    from ml.pretrained import three_class
    from ml.training.combine import fit_combiner

    mean = fit_combiner(mfcc, groups, labels, sources, {}, Setting("mean", pretrained_weight=0.7))
    np.testing.assert_allclose(mean.apply(mfcc, groups), 0.3 * mfcc + 0.7 * three_class(groups), atol=1e-6)
    assert Combiner.from_dict(mean.to_dict()).to_dict() == mean.to_dict() == {
        "kind": "mean", "groups": list(GROUP_NAMES), "pretrained_weight": 0.7
    }  # fmt: skip
