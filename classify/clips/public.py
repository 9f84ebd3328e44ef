"""A clip's and a segment's public shape, built in one place: the API, the result page, the
history and segment exports and admin all read these rows, so they cannot disagree.

The rules behind each field (shown label, mixed, unsure, shares) are classify/clips/summary.py's;
this module only lays them out. Rows are plain dicts of JSON types.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from classify.clips import summary
from classify.models import Classification, Clip, Segment
from ml import CLASS_NAMES, SILENCE, TIMELINE_LABELS

SEGMENT_CHUNK = 2000


def segment_row(segment: Segment, clip_corrected_label: str = "") -> dict[str, Any]:
    """One run of the timeline as shown: the owner's correction (of the segment, else of the whole
    clip), else the model's label."""
    return {
        "index": segment.index,
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "label": summary.shown_segment_label(segment.label, segment.corrected_label, clip_corrected_label),
        "model_label": segment.label,
        "corrected_label": segment.corrected_label
        or (clip_corrected_label if segment.label != SILENCE else "")
        or None,
        "uncertain": summary.segment_unsure(segment.uncertain, segment.corrected_label, clip_corrected_label),
        "probabilities": {name: round(segment.probabilities.get(name, 0.0), 4) for name in CLASS_NAMES},
        "family": shown_family(segment, clip_corrected_label),
        "tags": segment.tags or [],
    }


def shown_family(segment: Segment, clip_corrected_label: str = "") -> str | None:
    """A segment's family while it keeps the model's class (ml/families.py: a family never
    contradicts its class)."""
    shown = summary.shown_segment_label(segment.label, segment.corrected_label, clip_corrected_label)
    return (segment.family or None) if shown == segment.label else None


def shown_tracks(result: Classification) -> dict[str, list[dict[str, Any]]]:
    """Where speech and music are heard; no music once the owner said there is none."""
    tracks = result.tracks or {}
    return {"speech": tracks.get("speech", []), "music": [] if result.no_music else tracks.get("music", [])}


def segment_rows(result: Classification | None, prefetched: bool = False) -> Iterator[dict[str, Any]]:
    """The result's timeline in order. Read from the database in chunks (a six-hour recording has
    thousands of segments), or from a prefetched list where the caller made one."""
    if result is None:
        return
    if prefetched:
        segments = iter(result.segments.all())
    else:
        segments = Segment.objects.filter(classification=result).order_by("index").iterator(SEGMENT_CHUNK)
    for segment in segments:
        yield segment_row(segment, result.corrected_label)


def answer_fields(result: Classification | None) -> dict[str, Any]:
    """What a clip is answered with, from the summary stored on its result (no segment query)."""
    if result is None:
        return dict.fromkeys(ANSWER_FIELDS)
    shown = summary.stored(result)
    return {
        "label": shown.shown_label,
        "answer": shown.headline(),
        "model_label": result.label,
        "corrected_label": result.corrected_label or None,
        "confidence": result.confidence,
        "uncertain": result.uncertain,
        "mixed": result.mixed,
        "shares": {name: shown.shares.get(name, 0.0) for name in TIMELINE_LABELS},
        "probabilities": {name: result.probabilities.get(name) for name in CLASS_NAMES},
        "has_music": shown.layers.has_music,
        "music_under_speech_s": shown.layers.music_under_s,
        "music_level_db": shown.layers.music_level_db,
        "no_music": result.no_music,
        "families": list(shown.layers.families),
        "model_version": result.model_version,
        "processing_s": result.processing_s,
    }


ANSWER_FIELDS = (
    *("label", "answer", "model_label", "corrected_label", "confidence", "uncertain", "mixed", "shares"),
    *("probabilities", "has_music", "music_under_speech_s", "music_level_db", "no_music", "families"),
    *("model_version", "processing_s"),
)


def turns_late_at(clip: Clip) -> float | None:
    """When (a Unix time) a clip that is not late yet turns late if nothing changes, by the same
    rule: a stream re-sends it then, instead of asking the database again and again."""
    since = None
    if clip.status == Clip.Status.QUEUED:
        since = clip.queued_at
    elif clip.status == Clip.Status.PROCESSING and not clip.progress:
        since = clip.started_at
    return since.timestamp() + summary.LATE_AFTER_S if since else None


def late(clip: Clip) -> bool:
    """Whether the clip is "taking longer than usual" (classify/clips/summary.py's rule)."""
    now = timezone.now()
    waiting_s = (now - clip.queued_at).total_seconds() if clip.queued_at else None
    working_s = (now - clip.started_at).total_seconds() if clip.started_at else None
    reports = clip.status == Clip.Status.PROCESSING and bool(clip.progress)
    return summary.is_late(clip.status, waiting_s, working_s, reports)


def clip_row(clip: Clip) -> dict[str, Any]:
    """A clip as listed: its file, state and answer (the API adds its timeline and links)."""
    return {
        "id": clip.pk,
        "filename": clip.original_filename,
        "status": clip.status,
        "late": late(clip),
        **answer_fields(clip.result),
        "duration_s": clip.duration_s,
        "error": clip.error,
        "created_at": clip.created_at.isoformat(),
        "finished_at": clip.finished_at.isoformat() if clip.finished_at else None,
    }


def flat(row: dict[str, Any]) -> dict[str, Any]:
    """A row for a spreadsheet: nested shares and probabilities as columns of their own
    ("music_s", "music"), nothing nested."""
    out = {}
    for key, value in row.items():
        if key == "shares":
            out.update({f"{name}_s": (value or {}).get(name) for name in TIMELINE_LABELS})
        elif key == "probabilities":
            out.update({name: (value or {}).get(name) for name in CLASS_NAMES})

        else:
            out[key] = value
    return out
