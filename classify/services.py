"""What the platform does with clips: accept an upload, queue it, process it, sweep, delete.

Views, the API, admin actions and tasks all call these functions, so each rule lives once.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from classify import leases, limits, storage
from classify.models import Classification, Clip, Segment
from ml.audio import AUDIO_TYPES, AudioDecodeError, verify

logger = logging.getLogger(__name__)

TASK_NAME = "classify.tasks.classify_clip"


class UploadRejected(Exception):
    """An upload we will not keep; the message is for the person who sent it."""


class UploadOverLimit(UploadRejected):
    """Refused for the user's limits (rate, quota), not for the audio: it may be sent again."""


class UploadThrottled(UploadOverLimit):
    """Over the upload rate: try again in `wait_s` seconds."""

    def __init__(self, message: str, wait_s: float):
        super().__init__(message)
        self.wait_s = wait_s


def _human_size(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} kB"


def check_upload(uploaded: UploadedFile) -> None:
    """Refuse before storing what cannot be kept: empty or too big."""
    if uploaded.size == 0:
        raise UploadRejected("The file is empty.")
    if uploaded.size > settings.UPLOAD_MAX_BYTES:
        raise UploadRejected(
            f"The file is {_human_size(uploaded.size)}; the limit is "
            f"{_human_size(settings.UPLOAD_MAX_BYTES)}."
        )


def _sha256(uploaded: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()


_UNSAFE_NAME_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def display_name(name: str | None) -> str:
    """The uploader's file name, for display only: no folders, no control characters, never
    empty, "." or ".."."""
    cleaned = _UNSAFE_NAME_CHARACTERS.sub("", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return cleaned[:255] if cleaned not in ("", ".", "..") else "recording"


def check_quota(owner, size: int) -> None:
    quota = settings.USER_STORAGE_QUOTA_BYTES
    if not quota:
        return
    used = Clip.objects.filter(owner=owner).aggregate(total=Sum("size_bytes"))["total"] or 0
    if used + size > quota:
        raise UploadOverLimit(
            f"Your storage is full: you keep {_human_size(used)} of {_human_size(quota)}. "
            "Delete some clips to upload more."
        )


@contextmanager
def local_copy(uploaded: UploadedFile) -> Iterator[Path]:
    """A path to the upload's bytes: Django's temporary file where there is one, else a copy of
    the in-memory upload in a temporary file that is removed afterwards."""
    if hasattr(uploaded, "temporary_file_path"):
        yield Path(uploaded.temporary_file_path())
        return
    with tempfile.NamedTemporaryFile(prefix="upload-") as copy:
        for chunk in uploaded.chunks():
            copy.write(chunk)
        copy.flush()
        uploaded.seek(0)
        yield Path(copy.name)


def create_clip(owner, uploaded: UploadedFile) -> Clip:
    """Check the upload completely, then store it, create the clip and queue it.

    Everything an upload can know is refused here, before anything is stored: over the rate or
    the quota, empty, too big, not audio, corrupt, truncated, silent, too short or too long (the
    whole stream is decoded, without TensorFlow). The stored name's extension comes from the
    decoded container, never from the uploader's file name.
    """
    try:
        limits.take_uploads(owner.pk)
    except limits.LimitReached as reached:
        raise UploadThrottled(f"Too many uploads: {reached}.", reached.wait_s) from None
    check_upload(uploaded)
    check_quota(owner, uploaded.size)
    with local_copy(uploaded) as path:
        try:
            info = verify(path, max_duration_s=settings.UPLOAD_MAX_DURATION_S)
        except AudioDecodeError as error:
            raise UploadRejected(str(error)) from None
    suffix = AUDIO_TYPES.get(info.format, (".audio",))[0]
    clip = Clip(
        owner=owner,
        original_filename=display_name(uploaded.name),
        size_bytes=uploaded.size,
        sha256=_sha256(uploaded),
        duration_s=info.duration_s,
        sample_rate=info.sample_rate or None,
        channels=info.channels or None,
    )
    clip.file.save(f"recording{suffix}", uploaded, save=False)
    try:
        with transaction.atomic():
            clip.save()
            enqueue(clip)
    except Exception:
        clip.file.delete(save=False)
        raise
    return clip


def enqueue(clip: Clip) -> None:
    """Queue the classify task once the clip's row is committed, so a worker always finds it."""
    from django_q.tasks import async_task

    clip_id = clip.pk
    transaction.on_commit(
        lambda: async_task(
            TASK_NAME, clip_id, task_name=f"classify clip {clip_id}", sync=settings.CLASSIFY_SYNC
        )
    )


# A clip that no worker holds (classify/leases.py): written with every state change away from it.
NO_LEASE = {"lease_token": None, "lease_expires_at": None, "worker": ""}


def queued_again() -> dict:
    """The fields of a clip going back to the queue (attempts kept)."""
    return {
        "status": Clip.Status.QUEUED,
        "error": "",
        "started_at": None,
        "queued_at": timezone.now(),
        **NO_LEASE,
    }


def failed(message: str) -> dict:
    return {"status": Clip.Status.FAILED, "error": message, "finished_at": timezone.now(), **NO_LEASE}


def requeue(clip: Clip, reset_attempts: bool = True) -> None:
    """Put a clip back in the queue (admin's "classify again", the sweeper)."""
    fields = queued_again()
    if reset_attempts:
        fields["attempts"] = 0
    with transaction.atomic():
        Clip.objects.filter(pk=clip.pk).update(**fields)
        enqueue(clip)


def mark_failed(clip_id: int, message: str) -> None:
    Clip.objects.filter(pk=clip_id).update(**failed(message))


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
        if lease is not None:
            held = Clip.objects.select_for_update().filter(
                pk=clip.pk, status=Clip.Status.PROCESSING, lease_token=lease
            )
            if not held.exists():
                return None
        classification, _ = Classification.objects.update_or_create(
            clip=clip,
            model_version=result.model_version,
            defaults={
                "label": result.label,
                "confidence": result.confidence,
                "probabilities": result.probabilities,
                "processing_s": round(processing_s, 4),
                "uncertain": result.uncertain,
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
        Clip.objects.filter(pk=clip.pk).update(
            status=Clip.Status.DONE,
            result=classification,
            error="",
            finished_at=timezone.now(),
            duration_s=result.duration_s,
            sample_rate=result.sample_rate or F("sample_rate"),
            channels=result.channels or F("channels"),
            waveform=result.waveform,
            **NO_LEASE,
        )
    return classification


def process_clip(clip_id: int) -> ProcessOutcome:
    """The task's body: claim (under a lease the worker's keeper renews), classify, store.
    Undecodable audio fails the clip with the decoder's message; anything unexpected fails it
    with a generic one and is logged; a task timeout (django-q2 raises it as SystemExit) gives
    the clip back for another try, or fails it after the last."""
    from classify.runtime import get_classifier

    token = leases.claim(clip_id)
    if token is None:
        return ProcessOutcome(clip_id, "skipped", "not queued (taken, finished or deleted)")
    clip = Clip.objects.get(pk=clip_id)
    with leases.holding(clip_id, token):
        classifier = get_classifier()  # loaded once per worker; not part of this clip's time
        started = time.perf_counter()
        try:
            with storage.local_copy(clip.file.name) as path:
                result = classifier.classify(path, max_duration_s=settings.UPLOAD_MAX_DURATION_S)
        except AudioDecodeError as error:
            mark_failed(clip_id, str(error))
            return ProcessOutcome(clip_id, Clip.Status.FAILED, str(error))
        except FileNotFoundError:
            message = "The stored audio file could not be found; it may have been deleted."
            mark_failed(clip_id, message)
            return ProcessOutcome(clip_id, Clip.Status.FAILED, message)
        except SystemExit:
            leases.release(
                clip_id,
                token,
                f"Classification took longer than the limit of {settings.CLASSIFY_TASK_TIMEOUT_S} s.",
            )
            raise
        except Exception:
            logger.exception("classifying clip %s failed", clip_id)
            mark_failed(clip_id, "Classification failed because of an internal error; try again later.")
            raise
        if store_result(clip, result, time.perf_counter() - started, lease=token) is None:
            return ProcessOutcome(clip_id, "skipped", "lease lost or clip deleted while processing")
    logger.info("clip %s done: %s", clip_id, result.label)
    return ProcessOutcome(clip_id, Clip.Status.DONE, result.label)


def sweep_stale(dry_run: bool = False, now=None) -> dict[str, list[int]]:
    """Clips whose worker's lease expired go back to the queue (or fail after the last try;
    workers do this every few seconds, the sweeper once a minute as a backstop). Clips queued
    longer than CLASSIFY_REQUEUE_AFTER_S (their task was lost with a killed worker's prefetch or
    an emptied broker) are queued once more; the task's claim makes duplicates harmless."""
    now = now or timezone.now()
    outcome = leases.requeue_expired(now=now, dry_run=dry_run)
    queued_cutoff = now - timedelta(seconds=settings.CLASSIFY_REQUEUE_AFTER_S)
    for clip in Clip.objects.filter(status=Clip.Status.QUEUED, queued_at__lt=queued_cutoff):
        outcome["requeued"].append(clip.pk)
        if not dry_run:
            requeue(clip, reset_attempts=False)
    return outcome


def purge_failed_files(dry_run: bool = False, now=None) -> list[int]:
    """Remove the stored audio of clips that failed longer than FAILED_CLIP_RETENTION_S ago: the
    row (and its message) stays in the history, the file does not."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.FAILED_CLIP_RETENTION_S)
    expired = Clip.objects.filter(status=Clip.Status.FAILED, finished_at__lt=cutoff).exclude(file="")
    purged = []
    for clip in expired:
        purged.append(clip.pk)
        if not dry_run:
            clip.file.delete(save=False)
            Clip.objects.filter(pk=clip.pk).update(file="")
    return purged


def delete_clip(clip: Clip) -> None:
    """Remove the row; its stored file goes once the deletion commits (classify/signals.py,
    which also covers clips deleted with their owner)."""
    clip.delete()


def delete_user(user) -> None:
    """A user and everything of theirs: clips, results, corrections, tokens, and audio files."""
    with transaction.atomic():
        user.delete()
