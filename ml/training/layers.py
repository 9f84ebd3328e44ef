"""Fit the layered heads (ml/layers.py) on ml.training.layer_data's patches, cross-validated by
source fold, and write them with their held-out figures.

    python -m ml.training.layers --data var/layer-data.npz --out ml/models/layers \
        --report ml/results/layers.json

Heads, each a logistic model over the pretrained network's 1,024-wide embedding of a patch:
speech heard, music heard (the two tracks), and the family (ml/families.py); and a ridge
regression for music's level under speech. The figures are from heads that never heard the
held-out fold's sources; the shipped heads are refitted on every fold. YAMNet's own speech and
music outputs as two tracks (at the threshold that scores best on the same set) are reported
beside them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge

from ml import family_map
from ml.families import FAMILIES, FAMILY_CLASS
from ml.layers import HEADS_FILE, smooth_tracks
from ml.pretrained import GROUPS
from ml.training.progress import log

HEARD_SHARE = 0.5  # a patch "holds" speech or music when at least this share of it does
LEVEL_BINS = {"-3 dB": (-6.0, 0.0), "-10 dB": (-13.0, -7.0), "-20 dB": (-25.0, -17.0)}
C = 0.05  # L2 strength of the logistic heads (inverse), chosen by the folds' music F1


def standardise(x: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) - mean) / scale


def fit_binary(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=C, max_iter=300, class_weight="balanced").fit(x, y)


def frame_counts(pred: np.ndarray, share: np.ndarray) -> tuple[float, float, float]:
    """Frame-weighted true positives, false positives and misses: a patch is ~10 frames of 0.1 s,
    `share` of which hold the sound."""
    tp = float((pred * share).sum())
    fp = float((pred * (1 - share)).sum())
    fn = float(((1 - pred) * share).sum())
    return tp, fp, fn


def f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / max(2 * tp + fp + fn, 1e-9)


def track_figures(
    speech_pred: np.ndarray, music_pred: np.ndarray, data: dict[str, np.ndarray], rows: np.ndarray
) -> dict[str, float]:
    kind, level = data["mix_kind"][rows], data["mix_level"][rows]
    speech_share, music_share = data["mix_speech"][rows], data["mix_music"][rows]
    out = {
        "speech_f1": f1(*frame_counts(speech_pred, speech_share)),
        "music_f1": f1(*frame_counts(music_pred, music_share)),
    }
    for name, (low, high) in LEVEL_BINS.items():
        under = (level >= low) & (level <= high)
        tp, _, fn = frame_counts(music_pred[under], music_share[under])
        out[f"music_found_{name}"] = tp / max(tp + fn, 1e-9)
    speech_only = np.isin(kind, ["speech", "speech+noise"])
    out["false_music_on_speech"] = float(music_pred[speech_only].mean())
    return {key: round(value, 4) for key, value in out.items()}


def by_item(values: np.ndarray, items: np.ndarray) -> list[np.ndarray]:
    if not len(items):
        return []
    order = np.argsort(items, kind="stable")
    cuts = np.flatnonzero(np.diff(items[order])) + 1
    return [order[c] for c in np.split(np.arange(len(order)), cuts)]


def smoothed(probabilities: np.ndarray, items: np.ndarray, threshold: float) -> np.ndarray:
    """The serving path's decision per patch: smoothed within each mixture, as a recording is."""
    out = np.zeros(len(probabilities), bool)
    for rows in by_item(probabilities, items):
        out[rows] = smooth_tracks(probabilities[rows], threshold)
    return out


def family_figures(
    probabilities: np.ndarray, truth: np.ndarray, items: np.ndarray, how: str
) -> dict[str, Any]:
    """Recall per family over held-out files (each file's patches averaged, the family chosen
    among its class's, as a segment's is), and the macro mean over the music and noise families.
    `how`: "families_fitted" (a head's family probabilities) or "families_ontology" (the network's
    class scores, read by ml/family_map.py's rule as serving reads a segment's)."""
    correct: dict[str, list[bool]] = {name: [] for name in FAMILIES}
    for rows in by_item(probabilities, items):
        true = FAMILIES[int(truth[rows[0]])]
        allowed = [i for i, name in enumerate(FAMILIES) if FAMILY_CLASS[name] == FAMILY_CLASS[true]]
        mean = probabilities[rows].mean(axis=0)
        if how == "families_ontology":
            chosen = FAMILIES[family_map.choose(mean, allowed)]
        else:
            chosen = FAMILIES[allowed[int(mean[allowed].argmax())]]
        correct[true].append(chosen == true)
    recall = {name: round(float(np.mean(hits)), 3) for name, hits in correct.items() if hits}
    files = {name: len(hits) for name, hits in correct.items() if hits}
    noise = [name for name in recall if FAMILY_CLASS[name] != "speech"]
    return {
        "recall": recall,
        "files": files,
        "macro_recall": round(float(np.mean([recall[n] for n in noise])), 4),
    }


def yamnet_tracks(data: dict[str, np.ndarray]) -> dict[str, Any]:
    """YAMNet's own speech and music outputs as two tracks, each at its best threshold here."""
    scores = data["mix_scores"].astype(np.float32)
    speech = scores[:, GROUPS["speech"][0]].max(axis=1)
    music = np.maximum(scores[:, GROUPS["music"][0]].max(axis=1), scores[:, GROUPS["singing"][0]].max(axis=1))
    rows = np.arange(len(scores))
    best: dict[str, Any] = {}
    for threshold in np.linspace(0.05, 0.9, 18):
        figures = track_figures(speech > threshold, music > threshold, data, rows)
        if not best or figures["music_f1"] > best["music_f1"]:
            best = {**figures, "threshold": round(float(threshold), 3)}
    return best


def crossvalidate(data: dict[str, np.ndarray], thresholds: tuple[float, float]) -> dict[str, Any]:
    folds = sorted(set(data["mix_fold"].tolist()))
    speech_p = np.zeros(len(data["mix_fold"]))
    music_p = np.zeros(len(data["mix_fold"]))
    level_p = np.full(len(data["mix_fold"]), np.nan)
    family_p = np.zeros((len(data["corpus_fold"]), len(FAMILIES)))
    for fold in folds:
        train, test = data["mix_fold"] != fold, data["mix_fold"] == fold
        heads = fit(data, train)
        families = fit_family_head(data, data["corpus_fold"] != fold)
        x = standardise(track_inputs(data, test), heads["tracks_mean"], heads["tracks_scale"])
        speech_p[test] = heads["speech"].predict_proba(x)[:, 1]
        music_p[test] = heads["music"].predict_proba(x)[:, 1]
        level_p[test] = heads["level"].predict(x)
        held = data["corpus_fold"] == fold
        xc = standardise(data["corpus_embedding"][held], families["mean"], families["scale"])
        family_p[np.ix_(held, families["head"].classes_)] = families["head"].predict_proba(xc)
        log(f"fold {fold}: fitted and scored")
    items = data["mix_item"]
    rows = np.arange(len(items))
    both = (
        (data["mix_speech"] >= HEARD_SHARE)
        & (data["mix_music"] >= HEARD_SHARE)
        & np.isfinite(data["mix_level"])
    )
    report = {
        "patches": int(len(items)),
        "mixtures": int(len(set(items.tolist()))),
        "thresholds": {"speech": thresholds[0], "music": thresholds[1]},
        "tracks_per_step": track_figures(speech_p > thresholds[0], music_p > thresholds[1], data, rows),
        "tracks": track_figures(
            smoothed(speech_p, items, thresholds[0]), smoothed(music_p, items, thresholds[1]), data, rows
        ),
        "level_mae_db": round(float(np.abs(level_p[both] - data["mix_level"][both]).mean()), 2),
    }
    ontology = data["corpus_scores"].astype(np.float32)  # class scores: read as serving reads them
    for name, probabilities in (("families_fitted", family_p), ("families_ontology", ontology)):
        report[name] = family_figures(probabilities, data["corpus_family"], data["corpus_item"], name)
        for origin in ("real-world", "game"):
            chosen = data["corpus_origin"] == origin
            report[f"{name}_{origin}"] = family_figures(
                probabilities[chosen], data["corpus_family"][chosen], data["corpus_item"][chosen], name
            )
    return report


def track_inputs(data: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """A step's own embedding beside its patch's: where in the patch, and what the patch is."""
    return np.hstack([data["mix_embedding"][rows], data["mix_context"][rows]]).astype(np.float32)


def fit(data: dict[str, np.ndarray], mix_rows: np.ndarray) -> dict[str, Any]:
    """The track heads (what ships): speech, music and music's level, on the mixtures' rows."""
    x = track_inputs(data, mix_rows)
    tracks_mean, tracks_scale = x.mean(axis=0), x.std(axis=0) + 1e-3
    x = standardise(x, tracks_mean, tracks_scale)
    speech = fit_binary(x, data["mix_speech"][mix_rows] >= HEARD_SHARE)
    music = fit_binary(x, data["mix_music"][mix_rows] >= HEARD_SHARE)
    both = (
        (data["mix_speech"][mix_rows] >= HEARD_SHARE)
        & (data["mix_music"][mix_rows] >= HEARD_SHARE)
        & np.isfinite(data["mix_level"][mix_rows])
    )
    level = Ridge(alpha=100.0).fit(x[both], data["mix_level"][mix_rows][both])
    return {
        "tracks_mean": tracks_mean,
        "tracks_scale": tracks_scale,
        "speech": speech,
        "music": music,
        "level": level,
    }


def fit_family_head(data: dict[str, np.ndarray], corpus_rows: np.ndarray) -> dict[str, Any]:
    """A family head fitted on corpus files: scored against the ontology rule in the
    cross-validation only (the rule is what serves)."""
    xc = data["corpus_embedding"][corpus_rows].astype(np.float32)
    mean, scale = xc.mean(axis=0), xc.std(axis=0) + 1e-3
    head = LogisticRegression(C=C, max_iter=500, class_weight="balanced").fit(
        standardise(xc, mean, scale), data["corpus_family"][corpus_rows]
    )
    return {"mean": mean, "scale": scale, "head": head}


def save(heads: dict[str, Any], folder: Path, thresholds: tuple[float, float]) -> Path:
    """The track heads as plain arrays (float32), read by ml/layers.py without scikit-learn.
    Families are read by the ontology (ml/family_map.py), which scored as well held out."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / HEADS_FILE
    np.savez_compressed(
        path,
        tracks_mean=heads["tracks_mean"].astype(np.float32),
        tracks_scale=heads["tracks_scale"].astype(np.float32),
        tracks_weights=np.stack([heads["speech"].coef_[0], heads["music"].coef_[0]]).astype(np.float32),
        tracks_bias=np.array([heads["speech"].intercept_[0], heads["music"].intercept_[0]], np.float32),
        level_weights=heads["level"].coef_.astype(np.float32),
        level_bias=np.array([heads["level"].intercept_], np.float32),
        thresholds=np.array(thresholds, np.float32),
    )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--out", type=Path, help="folder for the shipped heads (refitted on every fold)")
    parser.add_argument("--report", type=Path)
    parser.add_argument(
        "--thresholds",
        type=float,
        nargs=2,
        default=(0.6, 0.5),
        metavar=("SPEECH", "MUSIC"),
        help="each track's probability threshold (the shipped ones: chosen on fold 0's held-out mixtures)",
    )
    args = parser.parse_args(argv)
    data = dict(np.load(args.data))
    thresholds = (args.thresholds[0], args.thresholds[1])
    report: dict[str, Any] = {"this project": crossvalidate(data, thresholds)}
    report["yamnet_own_outputs"] = yamnet_tracks(data)
    print(json.dumps(report, indent=2))
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    if args.out:
        heads = fit(data, np.ones(len(data["mix_fold"]), bool))
        log(f"shipped heads -> {save(heads, args.out, thresholds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
