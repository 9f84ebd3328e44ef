"""Markdown tables from saved cross-validation results, for the README and the model card.

    python -m ml.report ml/artifacts/crossval-seed.json ml/artifacts/crossval-cnn.json

Each JSON is what `python -m ml.crossval --json OUT` wrote.
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


def main(argv: Sequence[str] | None = None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    results = {}
    for path in paths:
        result = json.loads(path.read_text())
        results[result.get("preset", path.stem)] = result
    print(comparison(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
