"""One clip's timeline as a file: CSV, JSON, or an Audacity label track (File > Import > Labels),
each segment as classify/clips/public.py lays it out (its shown label: the owner's correction of
the segment or the clip, else the model's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

from django.http import StreamingHttpResponse

from classify.clips import public, streamed
from classify.models import Clip
from ml import CLASS_NAMES

KINDS = {"csv": "csv", "json": "json", "audacity": "txt"}  # Audacity's: start, end, label (tabs)
FIELDS = [
    *("index", "start", "end", "label", "model_label", "corrected", "uncertain"),
    *CLASS_NAMES,
    *("family", "tags"),
]


def rows(clip: Clip) -> Iterator[dict[str, Any]]:
    for row in public.segment_rows(clip.result):
        yield public.flat(row) | {"corrected": row["corrected_label"] is not None}


def audacity_lines(clip: Clip) -> Iterator[str]:
    """Audacity's label format: start<TAB>end<TAB>label, seconds, one region per line; an
    unsure segment's label ends with "?"."""
    for row in rows(clip):
        mark = "?" if row["uncertain"] else ""
        yield f"{row['start']:.3f}\t{row['end']:.3f}\t{row['label']}{mark}\n"


def response(clip: Clip, kind: str) -> StreamingHttpResponse:
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in PurePath(clip.original_filename).stem)
    filename = f"{stem or 'clip'}{'-labels' if kind == 'audacity' else '-segments'}.{KINDS[kind]}"
    if kind == "audacity":
        return streamed.attachment(audacity_lines(clip), "text/plain; charset=utf-8", filename)
    return streamed.response(rows(clip), FIELDS, kind, filename)


LANES = ("speech", "music")
TRACK_FIELDS = ["lane", "start", "end", "level_db"]


def track_rows(clip: Clip, lanes: tuple[str, ...] = LANES) -> Iterator[dict[str, Any]]:
    """Where speech and where music are heard, as shown (classify/clips/public.py), lane by lane."""
    if clip.result is None:
        return
    tracks = public.shown_tracks(clip.result)
    for lane in lanes:
        for span in tracks[lane]:
            yield {"lane": lane, "start": span["start"], "end": span["end"], "level_db": span.get("level_db")}


def tracks_response(clip: Clip, kind: str, lane: str = "music") -> StreamingHttpResponse:
    """The tracks as CSV or JSON (both lanes), or one lane as an Audacity label track."""
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in PurePath(clip.original_filename).stem)
    if kind == "audacity":
        lines = (
            f"{row['start']:.3f}\t{row['end']:.3f}\t{lane}"
            + (f" {row['level_db']:+.0f} dB" if row["level_db"] is not None else "")
            + "\n"
            for row in track_rows(clip, (lane,))
        )
        return streamed.attachment(lines, "text/plain; charset=utf-8", f"{stem or 'clip'}-{lane}.txt")
    return streamed.response(track_rows(clip), TRACK_FIELDS, kind, f"{stem or 'clip'}-tracks.{kind}")
