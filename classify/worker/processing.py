"""A clip's task body in the worker: claim it, classify it with the active model, store the result
under the lease (classify/clips/state.py), or fail it with a message its owner can read."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F

from classify.clips import state, summary
from classify.infra import storage
from classify.model_versions.loader import get_classifier
from classify.models import Classification, Clip, Segment
from classify.worker.keeper import holding
from ml.audio import AudioDecodeError

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
        try:
            with storage.local_copy(clip.file.name or "") as path:
                result = classifier.classify(path, max_duration_s=settings.UPLOAD_MAX_DURATION_S)
        except AudioDecodeError as error:
            state.fail(clip_id, str(error))
            return ProcessOutcome(clip_id, Clip.Status.FAILED, str(error))
        except FileNotFoundError:
            message = "The stored audio file could not be found; it may have been deleted."
            state.fail(clip_id, message)
            return ProcessOutcome(clip_id, Clip.Status.FAILED, message)
        except SystemExit:
            state.release(
                clip_id,
                token,
                f"Classification took longer than the limit of {settings.CLASSIFY_TASK_TIMEOUT_S} s.",
            )
            raise
        except Exception:
            logger.exception("classifying clip %s failed", clip_id)
            state.fail(clip_id, "Classification failed because of an internal error; try again later.")
            raise
        if store_result(clip, result, time.perf_counter() - started, lease=token) is None:
            return ProcessOutcome(clip_id, "skipped", "lease lost or clip deleted while processing")
    logger.info("clip %s done: %s", clip_id, result.label)
    return ProcessOutcome(clip_id, Clip.Status.DONE, result.label)
