"""A user's history as CSV or JSON: the same rows for the HTML button and the API."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from django.http import StreamingHttpResponse

from classify.clips import summary
from ml import CLASS_NAMES, TIMELINE_LABELS

EXPORT_CHUNK = 500
FIELDS = [
    "id",
    "filename",
    "status",
    "label",
    "answer",
    "model_label",
    "corrected_label",
    "confidence",
    "uncertain",
    "mixed",
    "music_s",
    "speech_s",
    "noise_s",
    "silence_s",
    "music",
    "speech",
    "noise",
    "duration_s",
    "model_version",
    "error",
    "created_at",
    "finished_at",
]


def rows(clips) -> Iterator[dict]:
    """One row per clip, read from the database in chunks (an export of 20,000 clips never
    holds them all)."""
    for clip in clips.iterator(chunk_size=EXPORT_CHUNK):
        result = clip.result
        shown = summary.stored(result) if result else None
        probabilities = result.probabilities if result else {}
        yield (
            {
                "id": clip.pk,
                "filename": clip.original_filename,
                "status": clip.status,
                "label": shown.shown_label if shown else None,
                "answer": shown.headline() if shown else None,
                "model_label": result.label if result else None,
                "corrected_label": (result.corrected_label or None) if result else None,
                "confidence": result.confidence if result else None,
                "uncertain": result.uncertain if result else None,
                "mixed": result.mixed if result else None,
                **{
                    f"{name}_s": (result.shares or {}).get(name) if result else None
                    for name in TIMELINE_LABELS
                },
                **{name: probabilities.get(name) for name in CLASS_NAMES},
                "duration_s": clip.duration_s,
                "model_version": result.model_version if result else None,
                "error": clip.error,
                "created_at": clip.created_at.isoformat(),
                "finished_at": clip.finished_at.isoformat() if clip.finished_at else None,
            }
        )


# A cell a spreadsheet would run as a formula starts with one of these (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """Text that a spreadsheet would read as a formula, quoted with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Line:
    """A file-like sink that hands csv.writer's line back instead of keeping it."""

    def write(self, text: str) -> str:
        return text


def csv_lines(clips) -> Iterator[str]:
    writer = csv.DictWriter(_Line(), fieldnames=FIELDS)
    yield writer.writeheader()
    for row in rows(clips):
        yield writer.writerow({key: spreadsheet_safe(value) for key, value in row.items()})


def json_lines(clips) -> Iterator[str]:
    """A JSON array, one object a line, written as the rows come."""
    yield "["
    for n, row in enumerate(rows(clips)):
        yield ("\n" if n == 0 else ",\n") + json.dumps(row)
    yield "\n]\n"


def response(clips, kind: str) -> StreamingHttpResponse:
    """The export streamed as it is read: memory stays flat however long the history."""
    lines = csv_lines(clips) if kind == "csv" else json_lines(clips)
    content_type = "text/csv; charset=utf-8" if kind == "csv" else "application/json"
    reply = StreamingHttpResponse(lines, content_type=content_type)
    reply["Content-Disposition"] = f'attachment; filename="audio-history.{kind}"'
    return reply
