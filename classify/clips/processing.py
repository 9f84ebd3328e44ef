"""A clip's task body in the worker: claim it, classify it with the active model, store the result
under the lease (classify/clips/state.py), or fail it with a message its owner can read."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from classify.clips import state, summary
from classify.infra import storage
from classify.model_versions.loader import get_classifier
from classify.models import Classification, Clip, Segment
from classify.worker.keeper import holding
from ml.audio import AudioDecodeError
from ml.streaming import Progress, classify_stream

logger = logging.getLogger(__name__)


@dataclass
class ProcessOutcome:
    clip_id: int
    status: str
    detail: str = ""


def store_result(clip: Clip, result, processing_s: float, lease=None) -> Classification | None:
    """Keep one classification per (clip, model version) with its segments, and point the clip
    at it: only the fields this step owns are written. With a lease token, only while that lease
    is still held (a worker whose lease expired and was taken back stores nothing): None then."""
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
            },
        )
        classification.segments.all().delete()
        Segment.objects.bulk_create(
            Segment(
                classification=classification,
                index=i,
                start=segment.start,
                end=segment.end,
                label=segment.label,
                probabilities=segment.probabilities,
                uncertain=segment.uncertain,
            )
            for i, segment in enumerate(result.segments)
        )
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


# A report is written after the block that passes this many seconds (a block takes well under a
# second), so the page sees progress at least every 5 s.
PROGRESS_EVERY_S = 3.5


class ProgressReport:
    """Stores ml.streaming's progress on the clip (seconds done of the total, rate, time left, the
    timeline so far) for the result page and the API, under the worker's lease."""

    def __init__(self, clip_id: int, token, started: float):
        self.clip_id, self.token, self.started = clip_id, token, started

    def __call__(self, progress: Progress) -> None:
        elapsed_s = max(time.perf_counter() - self.started, 1e-6)
        rate = progress.done_s / elapsed_s
        left_s = (progress.total_s - progress.done_s) / rate if progress.total_s and rate else None
        state.report_progress(
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


def process_clip(clip_id: int) -> ProcessOutcome:
    """The task's body: claim (under a lease the worker's keeper renews), classify, store.
    Undecodable audio fails the clip with the decoder's message; anything unexpected fails it
    with a generic one and is logged; a task timeout (django-q2 raises it as SystemExit) gives
    the clip back for another try, or fails it after the last."""
    token = state.claim(clip_id)
    if token is None:
        return ProcessOutcome(clip_id, "skipped", "not queued (taken, finished or deleted)")
    clip = Clip.objects.get(pk=clip_id)
    with holding(clip_id, token):
        classifier = get_classifier()  # loaded once per worker; not part of this clip's time
        started = time.perf_counter()
        report = ProgressReport(clip_id, token, started)
        try:
            with storage.local_copy(clip.file.name or "") as path:
                result = classify_stream(
                    classifier,
                    path,
                    max_duration_s=settings.UPLOAD_MAX_DURATION_S,
                    on_progress=report,
                    progress_every_s=PROGRESS_EVERY_S,
                )
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
