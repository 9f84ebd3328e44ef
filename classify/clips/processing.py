"""A clip's worker-side body: claim it, classify it with the active model, store the result under
the lease (classify/clips/state.py), or fail it with a message its owner can read. The task
(classify/worker/tasks.py) hands in the worker's model and its lease keeper's registration."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from classify.clips import state, summary
from classify.infra import storage
from classify.models import Classification, Clip, Segment
from ml.audio import AudioDecodeError
from ml.inference import ClassificationResult, Classifier
from ml.streaming import Progress, classify_stream

logger = logging.getLogger(__name__)


@dataclass
class ProcessOutcome:
    clip_id: int
    status: str
    detail: str = ""

    def __str__(self) -> str:
        return f"clip {self.clip_id}: {self.status} {self.detail}".strip()


def store_result(
    clip: Clip, result: ClassificationResult, processing_s: float, lease: uuid.UUID | None = None
) -> Classification | None:
    """Keep one classification per (clip, model version) with its segments, and point the clip
    at it: only the fields this step owns are written. With a lease token, only while that lease
    is still held (a worker whose lease expired and was taken back stores nothing): None then.

    Classifying a clip again with the same model keeps its owner's corrections: a timeline that
    came out the same keeps its segment rows (and so their corrections), updated in place."""
    with transaction.atomic():
        if lease is not None and not state.holds(clip.pk, lease):
            return None
        classification, _ = Classification.objects.update_or_create(
            clip=clip,
            model_version=result.model_version,
            defaults={
                "label": result.label,
                "confidence": result.confidence,
                "probabilities": result.probabilities,
                "processing_s": round(processing_s, 4),
                "model_uncertain": result.uncertain,
                "tracks": result.tracks,
            },
        )
        keep_segments(classification, result)
        summary.refresh(classification)
        state.finish(
            clip.pk,
            lease,
            result=classification,
            duration_s=result.duration_s,
            sample_rate=result.sample_rate or F("sample_rate"),
            channels=result.channels or F("channels"),
            waveform=result.waveform,
        )
    return classification


def keep_segments(classification: Classification, result: ClassificationResult) -> None:
    """The result's timeline as Segment rows. The same runs as stored (same times and labels)
    are updated in place, so corrections that point at them stay; another timeline replaces them."""
    stored = list(classification.segments.order_by("index"))
    same = len(stored) == len(result.segments) and all(
        (row.start, row.end, row.label) == (new.start, new.end, new.label)
        for row, new in zip(stored, result.segments)
    )
    if not same:
        classification.segments.all().delete()
        stored = [Segment(classification=classification, index=i) for i in range(len(result.segments))]
    for row, new in zip(stored, result.segments):
        row.start, row.end, row.label = new.start, new.end, new.label
        row.probabilities, row.uncertain = new.probabilities, new.uncertain
        row.family, row.tags = new.family or "", new.tags
    fields = ["probabilities", "uncertain", "family", "tags"]
    if same:
        Segment.objects.bulk_update(stored, fields)
    else:
        Segment.objects.bulk_create(stored)


class StopClassifying(Exception):
    """The clip was deleted, or its lease taken back, while it was classified: the work is for
    nobody now, so it stops at the next progress report (every few seconds)."""


class ProgressReport:
    """Stores ml.streaming's progress on the clip (seconds done of the total, rate, time left, the
    timeline so far) for the result page and the API, under the worker's lease; stops the work
    (StopClassifying) once nobody holds it for this worker any more."""

    def __init__(self, clip_id: int, token: uuid.UUID, started: float):
        self.clip_id, self.token, self.started = clip_id, token, started

    def __call__(self, progress: Progress) -> None:
        elapsed_s = max(time.perf_counter() - self.started, 1e-6)
        rate = progress.done_s / elapsed_s
        left_s = (progress.total_s - progress.done_s) / rate if progress.total_s and rate else None
        stored = state.report_progress(
            self.clip_id,
            self.token,
            {
                "done_s": round(progress.done_s, 1),
                "total_s": round(progress.total_s, 1) if progress.total_s else None,
                "rate": round(rate, 1),
                "left_s": round(max(left_s, 0.0), 1) if left_s is not None else None,
                "segments": [
                    {"start": s.start, "end": s.end, "label": s.label, "uncertain": s.uncertain}
                    for s in progress.segments
                ],
                "at": timezone.now().isoformat(),
            },
        )
        if not stored:
            raise StopClassifying(f"clip {self.clip_id} was deleted or taken back")


Holding = Callable[[int, uuid.UUID], AbstractContextManager[None]]


def process_clip(clip_id: int, load_classifier: Callable[[], Classifier], holding: Holding) -> ProcessOutcome:
    """The task's body: claim (under a lease the worker's keeper renews while `holding`),
    classify, store. Undecodable audio fails the clip with the decoder's message; anything
    unexpected fails it with a generic one and is logged; a task timeout (django-q2 raises it as
    SystemExit) gives the clip back for another try, or fails it after the last."""
    token = state.claim(clip_id)
    if token is None:
        return ProcessOutcome(clip_id, "skipped", "not queued (taken, finished or deleted)")
    clip = Clip.objects.get(pk=clip_id)
    with holding(clip_id, token):
        classifier = load_classifier()  # loaded once per worker; not part of this clip's time
        started = time.perf_counter()
        report = ProgressReport(clip_id, token, started)
        try:
            with storage.local_copy(clip.file.name or "") as path:
                result = classify_stream(
                    classifier,
                    path,
                    max_duration_s=settings.UPLOAD_MAX_DURATION_S,
                    on_progress=report,
                    progress_every_s=settings.CLASSIFY_PROGRESS_EVERY_S,
                )
        except StopClassifying as stopped:
            logger.info("stopped classifying: %s", stopped, extra={"clip_id": clip_id})
            return ProcessOutcome(clip_id, "skipped", "deleted or taken back while it was classified")
        except AudioDecodeError as error:
            state.fail(clip_id, str(error))
            return ProcessOutcome(clip_id, Clip.Status.FAILED, str(error))
        except FileNotFoundError:
            message = "The stored audio file could not be found; it may have been deleted."
            state.fail(clip_id, message)
            return ProcessOutcome(clip_id, Clip.Status.FAILED, message)
        except SystemExit:
            limit_s = state.task_timeout_s(clip.duration_s)
            state.release(clip_id, token, f"Classification took longer than the limit of {limit_s} s.")
            raise
        except Exception:
            logger.exception("classifying clip %s failed", clip_id)
            state.fail(clip_id, "Classification failed because of an internal error; try again later.")
            raise
        if store_result(clip, result, time.perf_counter() - started, lease=token) is None:
            return ProcessOutcome(clip_id, "skipped", "lease lost or clip deleted while processing")
    logger.info("clip %s done: %s", clip_id, result.label)
    return ProcessOutcome(clip_id, Clip.Status.DONE, result.label)
