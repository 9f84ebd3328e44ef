"""Splits never put one source on both sides; folds cover every source once."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.training.data import (
    CorpusFile,
    assert_disjoint,
    balanced_weights,
    scan_corpus,
    source_folds,
    split_by_source,
)


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

    from ml.training.data import WindowSet

    labels = np.array([0] * 90 + [1] * 30 + [2] * 6)
    sources = np.array(["m1"] * 80 + ["m2"] * 10 + ["s"] * 30 + ["n"] * 6, dtype=object)
    windows = WindowSet(
        np.zeros((126, 2)), labels, np.arange(126), sources, [CorpusFile(Path("x"), "music", "m")]
    )
    weights = balanced_weights(windows)
    totals = [weights[labels == k].sum() for k in range(3)]
    assert totals == pytest.approx([totals[0]] * 3)
    assert weights[0] < weights[85]  # a big source's windows weigh less each


def write_manifest(corpus: Path, origins: dict[str, str]) -> None:
    rows = ["path,label,source,duration_s,origin,license"]
    for path in sorted(corpus.rglob("*.flac")):
        relative = path.relative_to(corpus)
        source = relative.parts[1]
        rows.append(f"{relative},{relative.parts[0]},{source},2.0,{origins[source]},CC0")
    (corpus / "manifest.csv").write_text("\n".join(rows) + "\n")


def test_sources_of_one_package_or_repository_never_sit_on_both_sides_of_a_fold(tiny_corpus):
    origins = {
        f"{label}-source{s}": f"Debian game{s}-data 1.0-{label} (sounds/{label})"
        for label in ("music", "speech", "noise")
        for s in range(4)
    }
    origins["noise-source3"] = "someone/effects@0123abcd:sfx/boom.wav"
    origins["speech-source3"] = "someone/effects@0123abcd:voices/hello.wav"
    write_manifest(tiny_corpus, origins)
    files = scan_corpus(tiny_corpus)
    groups = {f.source: f.split_group for f in files}
    assert groups["music/music-source1"] == groups["noise/noise-source1"] == "debian:game1"
    assert groups["speech/speech-source3"] == groups["noise/noise-source3"]
    for seed in range(4):
        folds = source_folds(files, 2, seed=seed)
        assert sorted(s for fold in folds for s in fold) == sorted(groups)
        for k, held_out in enumerate(folds):
            rest = {groups[s] for j, fold in enumerate(folds) if j != k for s in fold}
            assert not rest & {groups[s] for s in held_out}, "a group on both sides of a fold"
        split = split_by_source(files, seed=seed)
        sides = [{f.split_group for f in part} for part in (split.train, split.validation, split.test)]
        assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])


def test_no_source_of_the_shared_corpus_ends_up_on_both_sides_of_a_fold():
    corpus = Path(__file__).resolve().parents[3] / "shared" / "corpus"
    if not (corpus / "manifest.csv").is_file():
        pytest.skip("the shared corpus is not beside this checkout")
    files = scan_corpus(corpus)
    groups = {f.source: f.split_group for f in files}
    assert groups["noise/ufoai-ambience"] == groups["noise/ufoai-weapons"] == groups["noise/ufoai-foley"]
    assert groups["noise/scorched3d-nature"] == groups["noise/scorched3d-apoc-city"]
    assert groups["music/openclonk-music"] == groups["noise/openclonk-sfx"]
    folds = source_folds(files, 4, seed=0)
    for k, held_out in enumerate(folds):
        rest = {groups[s] for j, fold in enumerate(folds) if j != k for s in fold}
        assert not rest & {groups[s] for s in held_out}
        assert {s.split("/")[0] for s in held_out} == {"music", "speech", "noise"}
