"""Markdown tables from saved cross-validation results, for the README and the model card.

    python -m ml.training.report ml/results/crossval-seed.json ml/results/crossval-cnn2d-sources.json [--sources N]

Each JSON is what `python -m ml.training.crossval --json OUT` wrote. With --sources, also the N sources the
last run heard worst (segment recall per source, side by side, and what the last run heard them as).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ml import CLASS_NAMES


def comparison(results: dict[str, dict]) -> str:
    """Per-class precision / recall / F1 and macro-F1 per level, one column pair per preset."""
    names = list(results)
    lines = [
        "| level | class | " + " | ".join(f"{name} P / R / F1" for name in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for level in ("segments", "files", "mixtures"):
        if not all(level in result for result in results.values()):
            continue
        for row in (*CLASS_NAMES, "macro avg"):
            cells = []
            for result in results.values():
                figures = result[level]["table"][row]
                cells.append(
                    f"{figures['precision']:.2f} / {figures['recall']:.2f} / **{figures['f1-score']:.3f}**"
                )
            lines.append(f"| {level} | {row} | " + " | ".join(cells) + " |")
    eces = " | ".join(f"{result['segment_ece']:.3f}" for result in results.values())
    lines.append(f"| segments | calibration error (ECE) | {eces} |")
    return "\n".join(lines)


def worst_sources(results: dict[str, dict], count: int) -> str:
    """Per-source segment recall side by side, the last run's worst sources first."""
    names = list(results)
    last = results[names[-1]]
    recalls = last["segment_recall_per_source"]
    heard = last.get("segments_heard_as_per_source", {})
    lines = [
        "| source | "
        + " | ".join(f"{name} recall" for name in names)
        + f" | {names[-1]} heard it as (windows) |",
        "|---|" + "---|" * (len(names) + 1),
    ]
    for source in sorted(recalls, key=lambda s: (recalls[s], s))[:count]:
        cells = [
            f"{r['segment_recall_per_source'][source]:.2f}"
            if source in r.get("segment_recall_per_source", {})
            else "-"
            for r in results.values()
        ]
        counts = ", ".join(f"{label} {n}" for label, n in heard.get(source, {}).items() if n)
        lines.append(f"| {source} | " + " | ".join(cells) + f" | {counts} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(argv if argv is not None else sys.argv[1:])
    sources = 0
    if "--sources" in arguments:
        at = arguments.index("--sources")
        sources = int(arguments[at + 1])
        del arguments[at : at + 2]
    paths = [Path(p) for p in arguments]
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    results = {}
    for path in paths:
        result = json.loads(path.read_text())
        results[result.get("preset", path.stem)] = result
    print(comparison(results))
    if sources:
        print()
        print(worst_sources(results, sources))
    return 0


if __name__ == "__main__":
    sys.exit(main())
