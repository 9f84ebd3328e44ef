"""Splits never put one source on both sides; folds cover every source once."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.crossval import assert_disjoint
from ml.data import CorpusFile, balanced_weights, scan_corpus, source_folds, split_by_source


def test_scanning_reads_label_and_source_from_the_layout(tiny_corpus):
    files = scan_corpus(tiny_corpus)
    assert len(files) == 24
    assert {f.label for f in files} == {"music", "speech", "noise"}
    assert files[0].source.startswith(files[0].label + "/")


def test_the_split_never_shares_a_source_between_train_and_test(tiny_corpus):
    for seed in range(5):
        split = split_by_source(scan_corpus(tiny_corpus), seed=seed)
        train = {f.source for f in split.train}
        validation = {f.source for f in split.validation}
        test = {f.source for f in split.test}
        assert not (train & test) and not (train & validation) and not (validation & test)
        assert {f.label for f in split.test} == {"music", "speech", "noise"}


def test_the_split_is_deterministic_for_a_seed(tiny_corpus):
    files = scan_corpus(tiny_corpus)
    assert split_by_source(files, seed=3).sources() == split_by_source(files, seed=3).sources()


def test_folds_hold_each_source_exactly_once_and_every_class(tiny_corpus):
    files = scan_corpus(tiny_corpus)
    folds = source_folds(files, 4, seed=0)
    every = [s for fold in folds for s in fold]
    assert sorted(every) == sorted({f.source for f in files})
    for fold in folds:
        assert {s.split("/")[0] for s in fold} == {"music", "speech", "noise"}


def test_the_fold_guard_refuses_a_shared_source():
    with pytest.raises(AssertionError):
        assert_disjoint({"music/a", "speech/b"}, {"speech/b"})


def test_balanced_weights_give_every_class_the_same_total():
    import numpy as np

    from ml.data import WindowSet

    labels = np.array([0] * 90 + [1] * 30 + [2] * 6)
    sources = np.array(["m1"] * 80 + ["m2"] * 10 + ["s"] * 30 + ["n"] * 6, dtype=object)
    windows = WindowSet(
        np.zeros((126, 2)), labels, np.arange(126), sources, [CorpusFile(Path("x"), "music", "m")]
    )
    weights = balanced_weights(windows)
    totals = [weights[labels == k].sum() for k in range(3)]
    assert totals == pytest.approx([totals[0]] * 3)
    assert weights[0] < weights[85]  # a big source's windows weigh less each
