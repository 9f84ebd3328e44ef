"""A user's history as CSV or JSON: the same rows for the HTML button and the API."""

from __future__ import annotations

import csv
import io
import json

from django.http import HttpResponse

from ml import CLASS_NAMES

FIELDS = [
    "id",
    "filename",
    "status",
    "label",
    "corrected_label",
    "confidence",
    "music",
    "speech",
    "noise",
    "duration_s",
    "model_version",
    "error",
    "created_at",
    "finished_at",
]


def rows(clips) -> list[dict]:
    out = []
    for clip in clips:
        result = clip.result
        probabilities = result.probabilities if result else {}
        out.append(
            {
                "id": clip.pk,
                "filename": clip.original_filename,
                "status": clip.status,
                "label": result.label if result else None,
                "corrected_label": (result.corrected_label or None) if result else None,
                "confidence": result.confidence if result else None,
                **{name: probabilities.get(name) for name in CLASS_NAMES},
                "duration_s": clip.duration_s,
                "model_version": result.model_version if result else None,
                "error": clip.error,
                "created_at": clip.created_at.isoformat(),
                "finished_at": clip.finished_at.isoformat() if clip.finished_at else None,
            }
        )
    return out


# A cell a spreadsheet would run as a formula starts with one of these (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """Text that a spreadsheet would read as a formula, quoted with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def response(clips, kind: str) -> HttpResponse:
    data = rows(clips)
    if kind == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()} for row in data)
        reply = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        reply = HttpResponse(json.dumps(data, indent=1), content_type="application/json")
    reply["Content-Disposition"] = f'attachment; filename="audio-history.{kind}"'
    return reply
