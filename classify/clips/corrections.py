"""Corrections: owners telling us the model was wrong, kept for retraining."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import soundfile
from django.contrib.auth.models import User
from django.db import transaction

from classify.clips import summary
from classify.infra import limits, storage
from classify.models import Classification, Clip, Correction
from ml import CLASS_NAMES, TIMELINE_LABELS
from ml.audio import SAMPLE_RATE, AudioDecodeError, decode


class CorrectionRefused(Exception):
    """A correction we cannot record; the message is for the user."""


class CorrectionThrottled(CorrectionRefused):
    def __init__(self, message: str, wait_s: float):
        super().__init__(message)
        self.wait_s = wait_s


# "There is no music here": a correction of the whole clip's music track, kept like the others.
NO_MUSIC = "no-music"


def correct(clip: Clip, user: User, new_label: str, segment_index: int | None = None) -> Correction:
    """Record that the clip (or one of its segments) is really `new_label` (a segment may also be
    silence; the whole clip may be NO_MUSIC), and update what the clip is shown as
    (classify/clips/summary.py)."""
    allowed = (*CLASS_NAMES, NO_MUSIC) if segment_index is None else TIMELINE_LABELS
    if new_label not in allowed:
        what = "the clip" if segment_index is None else "a segment"
        raise CorrectionRefused(f"The label of {what} must be one of {', '.join(allowed)}.")
    try:
        limits.take_correction(user.pk)
    except limits.LimitReached as reached:
        raise CorrectionThrottled(f"Too many corrections: {reached}.", reached.wait_s) from None
    result = clip.result
    if result is None:
        raise CorrectionRefused("The clip has no classification to correct yet.")
    with transaction.atomic():
        # One correction of a clip at a time: each stores a summary computed from the segments it
        # sees, so two at once (two tabs) could each miss the other's.
        result = Classification.objects.select_for_update().get(pk=result.pk)
        if new_label == NO_MUSIC:
            segment, old_label = None, "music"
            result.no_music = True
            result.save(update_fields=["no_music"])
        elif segment_index is None:
            segment = None
            old_label = result.corrected_label or result.label
            result.corrected_label = new_label
            result.save(update_fields=["corrected_label"])
        else:
            segment = result.segments.filter(index=segment_index).first()
            if segment is None:
                raise CorrectionRefused("There is no such segment in this clip.")
            old_label = segment.corrected_label or segment.label
            segment.corrected_label = new_label
            segment.save(update_fields=["corrected_label"])
        correction = Correction.objects.create(
            clip=clip,
            classification=result,
            segment=segment,
            user=user,
            old_label=old_label,
            new_label=new_label,
        )
        summary.refresh(result)
        return correction


MANIFEST_FIELDS = [
    "path",
    "label",
    "source",
    "origin",
    "clip_id",
    "owner",
    "original_filename",
    "start",
    "end",
    "old_label",
    "model_version",
    "corrected_at",
]


@dataclass
class ExportSummary:
    written: int
    skipped: list[str]
    manifest: Path


def latest_corrections() -> Iterator[Correction]:
    """The newest correction per (clip, segment): later ones supersede earlier ones."""
    seen: set[tuple[int, int | None, bool]] = set()
    for correction in Correction.objects.select_related("clip__owner", "segment", "classification").order_by(
        "-created_at", "-id"
    ):
        key = (correction.clip_id, correction.segment_id, correction.new_label == NO_MUSIC)
        if key not in seen:
            seen.add(key)
            yield correction


def correction_source(owner_id: int) -> str:
    """Each user's corrections are a source of their own (and, through the manifest's origin,
    one group across classes), so no fold hears one user's recordings on both sides."""
    return f"user-{owner_id}"


def export(
    out: Path, with_audio: bool = True, dry_run: bool = False, owners: set[int] | None = None
) -> ExportSummary:
    """Write corrected audio as a MUSAN-layout folder (<label>/user-<id>/<name>.flac) and a
    manifest.csv; without audio, only the manifest, pointing at the stored uploads. `owners`
    limits it to those users' clips."""
    rows, skipped = [], []
    for correction in latest_corrections():
        clip, segment = correction.clip, correction.segment
        if owners is not None and clip.owner_id not in owners:
            continue
        if correction.new_label not in CLASS_NAMES:  # "this is silence": nothing to learn a class from
            continue
        start, end = (segment.start, segment.end) if segment else (0.0, clip.duration_s or 0.0)
        name = f"clip{clip.pk}" + (f"-seg{segment.index}" if segment else "") + ".flac"
        relative = Path(correction.new_label) / correction_source(clip.owner_id) / name
        if with_audio and not dry_run:
            try:
                with storage.local_copy(clip.file.name or "") as path:
                    samples = decode(path).samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            except (AudioDecodeError, ValueError, FileNotFoundError) as error:
                skipped.append(f"clip {clip.pk}: {error}")
                continue
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(out / relative, samples, SAMPLE_RATE)
        rows.append(
            {
                "path": str(relative) if with_audio else clip.file.name,
                "label": correction.new_label,
                "source": correction_source(clip.owner_id),
                "origin": f"user:{clip.owner_id}",
                "clip_id": clip.pk,
                "owner": clip.owner.username,
                "original_filename": clip.original_filename,
                "start": round(start, 3),
                "end": round(end, 3),
                "old_label": correction.old_label,
                "model_version": correction.classification.model_version,
                "corrected_at": correction.created_at.isoformat(),
            }
        )
    manifest = out / "manifest.csv"
    if not dry_run:
        out.mkdir(parents=True, exist_ok=True)
        with manifest.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    return ExportSummary(len(rows), skipped, manifest)
