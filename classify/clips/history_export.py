"""A user's history as CSV or JSON: the same rows for the HTML button and the API, each clip as
classify/clips/public.py lays it out, shares and probabilities as columns of their own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from classify.clips import public, streamed
from classify.models import Clip
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
    *(f"{name}_s" for name in TIMELINE_LABELS),
    "has_music",
    "music_under_speech_s",
    "music_level_db",
    "no_music",
    "families",
    *CLASS_NAMES,
    "duration_s",
    "model_version",
    "error",
    "created_at",
    "finished_at",
]


def rows(clips: QuerySet[Clip]) -> Iterator[dict[str, Any]]:
    """One row per clip, read from the database in chunks."""
    for clip in clips.iterator(chunk_size=EXPORT_CHUNK):
        yield public.flat(public.clip_row(clip))


def response(clips: QuerySet[Clip], kind: str) -> StreamingHttpResponse:
    return streamed.response(rows(clips), FIELDS, kind, f"audio-history.{kind}")
