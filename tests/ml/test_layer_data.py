"""The lanes' training set keeps sources apart: every mixture is made of one fold's sources only,
and every patch carries its fold, so the cross-validation of ml/training/layers.py scores each
fold with heads that never heard its voices, songs or noises."""

from __future__ import annotations

import numpy as np

from ml.training.data import scan_corpus, source_folds
from ml.training.layer_data import FOLDS, build, fold_parts


def test_a_mixture_is_made_of_one_folds_sources_only(tiny_corpus):
    files = scan_corpus(tiny_corpus)
    folds = source_folds(files, FOLDS)
    for fold in range(FOLDS):
        used = {f.source for parts in fold_parts(files, folds, fold).values() for f in parts}
        others = {source for k, sources in enumerate(folds) if k != fold for source in sources}
        assert used and used <= set(folds[fold]) and not used & others


def test_every_patch_of_the_training_set_carries_its_fold_and_truth(tiny_corpus):
    data = build(tiny_corpus, mixtures=8)
    folds = source_folds(scan_corpus(tiny_corpus), FOLDS)
    assert sorted(set(data["mix_fold"].tolist())) == list(range(FOLDS))
    assert data["mix_embedding"].shape[1] == 1024 and len(data["mix_embedding"]) == len(data["mix_speech"])
    assert ((data["mix_speech"] >= 0) & (data["mix_speech"] <= 1)).all()
    levels = data["mix_level"][np.isfinite(data["mix_level"])]
    assert ((levels >= -25) & (levels <= 5)).all()
    assert len(set(data["corpus_fold"].tolist())) == len([fold for fold in folds if fold])
