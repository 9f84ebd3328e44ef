"""Classify audio files from the command line.

    python -m ml.classify FILE [FILE ...] [--json] [--model DIR] [--max-duration-s S]

With --json, one JSON object per line per file: {"path", "label", "confidence", "uncertain",
"probabilities", "duration_s", "model_version", "segments"} (each segment with its own
"uncertain"); a file that cannot be decoded prints {"path", "error"} and the command goes on with
the next one. The exit status is 1 if any file failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ml.audio import DEFAULT_MAX_DURATION_S, AudioDecodeError
from ml.streaming import classify_stream


def describe(result: dict[str, Any]) -> str:
    timeline = ", ".join(f"{s['start']:.1f}-{s['end']:.1f}s {s['label']}" for s in result["segments"])
    verdict = f"{result['label']} ({result['confidence']:.0%})"
    if result.get("uncertain"):
        ranked = sorted(result["probabilities"], key=result["probabilities"].get, reverse=True)
        verdict = f"unsure: {ranked[0]} or {ranked[1]}?"
    return f"{result['path']}: {verdict}, {result['duration_s']:.1f} s [{timeline}]"


def main(argv: Sequence[str] | None = None) -> int:
    from ml.inference import DEFAULT_MODEL_DIR, Classifier

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR, help="model folder")
    parser.add_argument(
        "--max-duration-s",
        type=float,
        default=DEFAULT_MAX_DURATION_S,
        help=f"refuse longer recordings (default {DEFAULT_MAX_DURATION_S} s)",
    )
    args = parser.parse_args(argv)

    classifier = Classifier.load(args.model)
    failures = 0
    for path in args.files:
        try:
            line = {"path": str(path), **classify_stream(classifier, path, args.max_duration_s).to_dict()}
            text = json.dumps(line) if args.json else describe(line)
        except AudioDecodeError as error:
            failures += 1
            text = (
                json.dumps({"path": str(path), "error": str(error)})
                if args.json
                else f"{path}: error: {error}"
            )
        print(text, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
