"""One clip's timeline as a file: CSV, JSON, or an Audacity label track (File > Import > Labels),
each segment under its shown label (the owner's correction, else the model's). Streamed from
the database in chunks, so a long recording's thousands of segments never sit in memory."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import PurePath

from django.http import StreamingHttpResponse

from classify.clips.history_export import spreadsheet_safe
from classify.models import Clip, Segment
from ml import CLASS_NAMES

KINDS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
    "audacity": ("text/plain; charset=utf-8", "txt"),  # tab-separated: start, end, label
}
FIELDS = ["index", "start", "end", "label", "model_label", "corrected", "uncertain", *CLASS_NAMES]


def rows(clip: Clip) -> Iterator[dict]:
    if clip.result_id is None:
        return
    segments = Segment.objects.filter(classification_id=clip.result_id).order_by("index")
    for segment in segments.iterator(chunk_size=2000):
        yield {
            "index": segment.index,
            "start": round(segment.start, 3),
            "end": round(segment.end, 3),
            "label": segment.shown_label,
            "model_label": segment.label,
            "corrected": bool(segment.corrected_label),
            "uncertain": segment.unsure,
            **{name: round(segment.probabilities.get(name, 0.0), 4) for name in CLASS_NAMES},
        }


class _Line:
    def write(self, text: str) -> str:
        return text


def csv_lines(clip: Clip) -> Iterator[str]:
    writer = csv.DictWriter(_Line(), fieldnames=FIELDS)
    yield writer.writeheader()
    for row in rows(clip):
        yield writer.writerow({key: spreadsheet_safe(value) for key, value in row.items()})


def json_lines(clip: Clip) -> Iterator[str]:
    yield "["
    for n, row in enumerate(rows(clip)):
        yield ("\n" if n == 0 else ",\n") + json.dumps(row)
    yield "\n]\n"


def audacity_lines(clip: Clip) -> Iterator[str]:
    """Audacity's label format: start<TAB>end<TAB>label, seconds, one region per line; an
    unsure segment's label ends with "?"."""
    for row in rows(clip):
        mark = "?" if row["uncertain"] else ""
        yield f"{row['start']:.3f}\t{row['end']:.3f}\t{row['label']}{mark}\n"


def response(clip: Clip, kind: str) -> StreamingHttpResponse:
    content_type, extension = KINDS[kind]
    lines = {"csv": csv_lines, "json": json_lines, "audacity": audacity_lines}[kind](clip)
    reply = StreamingHttpResponse(lines, content_type=content_type)
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in PurePath(clip.original_filename).stem)
    suffix = "-labels" if kind == "audacity" else "-segments"
    reply["Content-Disposition"] = f'attachment; filename="{stem or "clip"}{suffix}.{extension}"'
    return reply
