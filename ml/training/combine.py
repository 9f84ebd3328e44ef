"""Fit and judge the combiner (ml/combiner.py) on held-out cross-validation outputs.

    python -m ml.training.combine --crossval CV.json CV.npz [--seed-crossval SEED.json SEED.npz]
        --corpus ../shared/corpus [--pretrained-cache var/pretrained.npz] [--json OUT]

Every window of the corpus was scored by an MFCC network that never heard its source (the saved
outputs of `ml.training.crossval`). The pretrained network hears the same windows. Fold k's
windows are then combined by a combiner fitted on the other folds' windows only (nested), so the
figures are for sources neither the MFCC network nor the combiner saw. The combiner's settings
(regularisation, how much game audio weighs) are chosen by the real-world sources' segment
macro-F1; every model is reported on real-world and game sources apart, with per-source recall.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ml import CLASS_NAMES
from ml.combiner import Combiner, combiner_inputs
from ml.decision import Calibration
from ml.features import FeatureSettings
from ml.pretrained import GROUP_NAMES, three_class
from ml.training.data import scan_corpus
from ml.training.evaluate import evaluate_windows
from ml.training.origins import GAME, KINDS, REAL_WORLD, source_kinds
from ml.training.outputs import FoldOutputs, by_fold, labelled_windows
from ml.training.presets import PRESETS
from ml.training.pretrained_outputs import load_or_compute
from ml.training.progress import log


@dataclass(frozen=True)
class Setting:
    """A combiner to try. ``mean``: the pretrained network's weight in a weighted mean (nothing is
    fitted). ``logistic``: inverse regularisation, and the weight of game sources' windows against
    real-world ones (every source of a class weighs the same before that)."""

    kind: str = "mean"
    pretrained_weight: float = 0.7
    C: float = 0.3
    game_weight: float = 1.0

    def __str__(self) -> str:
        if self.kind == "mean":
            return f"weighted mean, pretrained weight {self.pretrained_weight}"
        return f"logistic, C {self.C}, game weight {self.game_weight}"


GRID = [Setting("mean", weight) for weight in (0.5, 0.6, 0.7, 0.8, 0.9)] + [
    Setting("logistic", C=C, game_weight=weight) for C in (0.03, 0.3, 3.0) for weight in (0.0, 0.3, 1.0)
]


def window_weights(
    labels: np.ndarray, sources: np.ndarray, kinds: dict[str, str], game_weight: float
) -> np.ndarray:
    """Every class the same total, every source within a class the same share, then game sources
    scaled by `game_weight`; mean 1."""
    weights = np.zeros(len(labels), dtype=np.float64)
    for label in np.unique(labels):
        in_class = labels == label
        names, counts = np.unique(sources[in_class], return_counts=True)
        for name, count in zip(names, counts):
            scale = game_weight if kinds.get(str(name)) == GAME else 1.0
            weights[in_class & (sources == name)] = scale / (len(names) * count)
    return weights * len(weights) / max(weights.sum(), 1e-12)


def fit_combiner(
    mfcc: np.ndarray,
    groups: np.ndarray,
    labels: np.ndarray,
    sources: np.ndarray,
    kinds: dict[str, str],
    setting: Setting,
) -> Combiner:
    """A combiner fitted on these windows (which must be held out from the MFCC network)."""
    from sklearn.linear_model import LogisticRegression

    if setting.kind == "mean":
        return Combiner(GROUP_NAMES, "mean", setting.pretrained_weight)
    weights = window_weights(labels, sources, kinds, setting.game_weight)
    keep = weights > 0
    regression = LogisticRegression(C=setting.C, max_iter=2000)
    regression.fit(combiner_inputs(mfcc[keep], groups[keep]), labels[keep], sample_weight=weights[keep])
    coefficients = np.zeros((regression.coef_.shape[1], len(CLASS_NAMES)))
    intercept = np.zeros(len(CLASS_NAMES))
    for row, cls in enumerate(regression.classes_):  # classes_ are sorted label indices
        coefficients[:, cls] = regression.coef_[row]
        intercept[cls] = regression.intercept_[row]
    return Combiner(GROUP_NAMES, "logistic", coefficients=coefficients, intercept=intercept)


def nested(
    mfcc: np.ndarray,
    groups: np.ndarray,
    labels: np.ndarray,
    sources: np.ndarray,
    fold_of: np.ndarray,
    kinds: dict[str, str],
    setting: Setting,
) -> np.ndarray:
    """Each fold's windows combined by a combiner fitted on the other folds' windows only."""
    combined = np.zeros_like(mfcc)
    for k in np.unique(fold_of):
        mine = fold_of == k
        combiner = fit_combiner(mfcc[~mine], groups[~mine], labels[~mine], sources[~mine], kinds, setting)
        combined[mine] = combiner.apply(mfcc[mine], groups[mine])
    return combined


def by_kind(
    probabilities: np.ndarray, outputs: FoldOutputs, kinds: dict[str, str], settings: FeatureSettings
) -> dict[str, dict]:
    """Calibrated window probabilities through the decision rule (smoothing, file labels), scored on
    every source, on real-world sources and on game sources apart."""
    decision = {"smoothing_windows": 3}  # calibrated already
    windows = outputs.windows
    result = {"all": evaluate_windows(probabilities, windows, settings, decision)}
    window_kinds = np.array([kinds.get(str(s), REAL_WORLD) for s in windows.sources])
    for kind in KINDS:
        rows = window_kinds == kind
        if not rows.any():
            continue
        part = labelled_windows(
            windows.labels[rows],
            np.unique(windows.file_ids[rows], return_inverse=True)[1],
            windows.sources[rows],
        )
        result[kind] = evaluate_windows(probabilities[rows], part, settings, decision)
    return result


def headline(evaluation: dict) -> dict[str, float]:
    segments, files = evaluation["segments"], evaluation["files"]
    return {
        "segment_macro_f1": round(segments["macro_f1"], 3),
        "segment_noise_recall": round(segments["table"]["noise"]["recall"], 3),
        "file_macro_f1": round(files["macro_f1"], 3),
        "file_noise_recall": round(files["table"]["noise"]["recall"], 3),
    }


def choose(
    mfcc: np.ndarray,
    groups: np.ndarray,
    outputs: FoldOutputs,
    kinds: dict[str, str],
    settings: FeatureSettings,
) -> tuple[Setting, list[dict], np.ndarray]:
    """The grid's setting with the best real-world segment macro-F1 (nested), every setting's
    figures, and the chosen setting's nested outputs."""
    rows, best = [], None
    labels, sources, fold_of = outputs.windows.labels, outputs.windows.sources.astype(str), outputs.fold_of
    for setting in GRID:
        combined = nested(mfcc, groups, labels, sources, fold_of, kinds, setting)
        scored = {kind: headline(e) for kind, e in by_kind(combined, outputs, kinds, settings).items()}
        rows.append({"setting": str(setting), **asdict(setting), **{kind: scored[kind] for kind in scored}})
        score = scored[REAL_WORLD]["segment_macro_f1"]
        log(f"combiner {setting}: real-world {scored[REAL_WORLD]}, game {scored.get(GAME)}")
        if best is None or score > best[0]:
            best = (score, setting, combined)
    assert best is not None
    return best[1], rows, best[2]


@dataclass
class CombinedOutputs:
    """What training needs from a combined cross-validation."""

    setting: Setting
    combiner: Combiner  # fitted on every held-out window
    nested: np.ndarray  # each fold's windows by a combiner that did not see them
    grid: list[dict]
    models: dict[str, dict[str, dict]]  # model -> all / real-world / game -> evaluation


def combine(
    outputs: FoldOutputs,
    calibration: Calibration,
    corpus: Path,
    preset_name: str,
    pretrained_cache: Path | None = None,
) -> CombinedOutputs:
    """Choose and fit the combiner for a preset's cross-validation; `calibration` is the one the
    served MFCC network uses (fitted on every fold's held-out outputs)."""
    settings = PRESETS[preset_name].features
    files = scan_corpus(corpus)
    kinds = source_kinds(corpus)
    sources = outputs.windows.sources.astype(str)
    groups = load_or_compute(pretrained_cache, files, settings, sources)
    per_fold = by_fold(outputs.raw, outputs.fold_of, outputs.calibrations)
    setting, grid, nested_outputs = choose(per_fold, groups, outputs, kinds, settings)
    log(f"chosen combiner setting: {setting}")
    combiner = fit_combiner(
        calibration.apply(outputs.raw), groups, outputs.windows.labels, sources, kinds, setting
    )
    pretrained_alone = three_class(groups)
    models = {
        "mfcc": by_kind(per_fold, outputs, kinds, settings),
        "pretrained": by_kind(pretrained_alone, outputs, kinds, settings),
        "average": by_kind((per_fold + pretrained_alone) / 2, outputs, kinds, settings),
        "combined": by_kind(nested_outputs, outputs, kinds, settings),
    }
    return CombinedOutputs(setting, combiner, nested_outputs, grid, models)


def write_into(
    folder: Path, result: CombinedOutputs, outputs: FoldOutputs, settings: FeatureSettings
) -> None:
    """Put a combination into a trained model's metadata (what `ml.training.train` writes)."""
    from ml.training.uncertainty import tables

    path = folder / "metadata.json"
    metadata = json.loads(path.read_text())
    metadata.update(combination_metadata(result))
    metadata["uncertain_margin"] = tables(outputs, settings, result.nested)["chosen_margin"]
    path.write_text(json.dumps(metadata, indent=2) + "\n")
    log(f"wrote the combiner ({result.setting}) into {path}")


def combination_metadata(result: CombinedOutputs) -> dict:
    """The metadata a combined model carries: its combiner, how it was chosen, and what the served
    combination scored on sources it never heard."""
    return {
        "combiner": result.combiner.to_dict(),
        "combiner_setting": {"description": str(result.setting), **asdict(result.setting)},
        "crossval_combined": {kind: headline(e) for kind, e in result.models["combined"].items()},
    }


MODEL_NAMES = {
    "seed": "seed (MFCC means, MLP)",
    "mfcc": "MFCC CNN alone",
    "pretrained": "pretrained network alone (grouped AudioSet scores)",
    "average": "plain average of the two",
    "combined": "combiner (the served model)",
}


def format_tables(models: dict[str, dict[str, dict]], worst: int = 12) -> str:
    lines = [
        "| model | real-world segment macro-F1 | real-world noise recall | real-world file macro-F1 "
        "| game segment macro-F1 | game noise recall | game file macro-F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, by in models.items():
        real, game = headline(by[REAL_WORLD]), headline(by[GAME])
        lines.append(
            f"| {MODEL_NAMES.get(name, name)} | {real['segment_macro_f1']:.3f} | {real['segment_noise_recall']:.3f} "
            f"| {real['file_macro_f1']:.3f} | {game['segment_macro_f1']:.3f} | {game['segment_noise_recall']:.3f} "
            f"| {game['file_macro_f1']:.3f} |"
        )
    names = [n for n in ("mfcc", "pretrained", "combined") if n in models]
    lines += ["", f"Worst real-world sources of the served model (segment recall; {', '.join(names)}):", ""]
    lines += [
        "| source | " + " | ".join(names) + " | the served model hears it as |",
        "|---|" + "---|" * (len(names) + 1),
    ]
    recall = {n: models[n][REAL_WORLD]["segment_recall_per_source"] for n in names}
    heard = models["combined"][REAL_WORLD]["segments_heard_as_per_source"]
    for source in sorted(recall["combined"], key=recall["combined"].get)[:worst]:
        total = max(sum(heard[source].values()), 1)
        shares = ", ".join(
            f"{label} {n / total:.0%}" for label, n in heard[source].items() if n / total >= 0.05
        )
        lines.append(
            f"| {source} | " + " | ".join(f"{recall[n][source]:.2f}" for n in names) + f" | {shares} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crossval", nargs=2, type=Path, required=True, metavar=("CV.json", "CV.npz"))
    parser.add_argument("--seed-crossval", nargs=2, type=Path, metavar=("SEED.json", "SEED.npz"))
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--pretrained-cache", type=Path, help="the pretrained network's outputs (.npz)")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument(
        "--into",
        type=Path,
        help="a model folder trained from this cross-validation: write the chosen combiner, its figures "
        "and the re-fitted unsure margin into its metadata.json (the network is left as it is)",
    )
    args = parser.parse_args(argv)
    evaluation = json.loads(args.crossval[0].read_text())
    outputs = FoldOutputs.load(args.crossval[1], evaluation)
    preset = PRESETS[evaluation["preset"]]
    calibration = Calibration.fit(outputs.raw, outputs.windows.labels, class_bias=preset.class_bias)
    result = combine(outputs, calibration, args.corpus, evaluation["preset"], args.pretrained_cache)
    models = result.models
    if args.seed_crossval:
        seed_evaluation = json.loads(args.seed_crossval[0].read_text())
        seed = FoldOutputs.load(args.seed_crossval[1], seed_evaluation)
        if not (seed.windows.sources == outputs.windows.sources).all():
            raise SystemExit("the seed's cross-validation did not score the same windows")
        seed_probabilities = by_fold(seed.raw, seed.fold_of, seed.calibrations)
        kinds = source_kinds(args.corpus)
        models = {"seed": by_kind(seed_probabilities, seed, kinds, preset.features), **models}
    print(f"Chosen combiner (real-world segment macro-F1, nested by fold): {result.setting}\n")
    if args.into:
        write_into(args.into, result, outputs, preset.features)
    print(format_tables(models))
    if args.json:
        report = {
            "preset": evaluation["preset"],
            "setting": asdict(result.setting),
            "grid": result.grid,
            "combiner": result.combiner.to_dict(),
            "models": {
                name: {
                    kind: {
                        **headline(e),
                        **{k: e[k] for k in ("segment_recall_per_source", "segments_heard_as_per_source")},
                    }
                    for kind, e in by.items()
                }
                for name, by in models.items()
            },
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
