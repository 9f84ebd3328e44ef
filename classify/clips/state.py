"""A clip's processing state: every change of `Clip.status` is one guarded UPDATE here.

Each transition is `UPDATE ... WHERE status IN (...)` (and, for a worker, `AND lease_token = ...`):
a zero row count means another process got there first, so no transition happens twice and none
happens from a state it does not belong to.

| transition | from | to | who |
|---|---|---|---|
| `claim` | queued | processing (new lease, attempts + 1) | a worker's task |
| `renew` | processing, same lease | processing (lease pushed on) | the worker's keeper thread |
| `finish` | processing, same lease | done | the worker, with the stored result |
| `release` | processing (same lease, or an expired one) | queued, or failed after the last attempt | a task timeout; any keeper for a dead worker's lease |
| `fail` | queued, processing | failed | undecodable audio, an internal error; admin's "Mark as failed" |
| `requeue` | queued, done, failed | queued (attempts reset) | admin's "Classify again" |
| `requeue_lost` | queued (its task lost) | queued (task sent again) | keepers and the sweeper: one rule |

A worker holds a clip under a lease (a token and an expiry, CLASSIFY_LEASE_S ahead) that its
keeper renews (classify/worker/keeper.py). A worker killed with `kill -9` stops renewing: any
living keeper finds the expired lease within seconds and releases the clip. Results are stored
only under a lease still held, so a clip is never done twice.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from classify.infra import queue
from classify.models import Clip

logger = logging.getLogger(__name__)

Status = Clip.Status
# The states each transition starts from (admin actions say these to staff).
REQUEUE_FROM = (Status.QUEUED, Status.DONE, Status.FAILED)
FAIL_FROM = (Status.QUEUED, Status.PROCESSING)
# A clip that no worker holds: written with every state change away from processing.
NO_LEASE = {"lease_token": None, "lease_expires_at": None, "worker": ""}


def worker_id() -> str:
    """host:pid of this process (forked workers have their own pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_until() -> datetime:
    return timezone.now() + timedelta(seconds=settings.CLASSIFY_LEASE_S)


def task_timeout_s(duration_s: float | None) -> int:
    """The clip's task time limit: CLASSIFY_TASK_TIMEOUT_S, or longer for a long recording (at
    CLASSIFY_MIN_SPEED times real time, far below what a worker does), so six hours are not cut
    off at five minutes."""
    scaled = (duration_s or 0) / settings.CLASSIFY_MIN_SPEED
    return max(settings.CLASSIFY_TASK_TIMEOUT_S, int(scaled))


def clip_queue(duration_s: float | None) -> str:
    """The queue a clip waits on: long recordings have a worker of their own, so short clips
    never wait behind them (settings.LONG_CLIP_S)."""
    return str(settings.LONG_QUEUE if (duration_s or 0) >= settings.LONG_CLIP_S else settings.CLIPS_QUEUE)


def send(clip_id: int) -> None:
    """Queue the clip's task, on its queue, once the current transaction commits."""
    duration_s = Clip.objects.filter(pk=clip_id).values_list("duration_s", flat=True).first()
    queue.enqueue(
        queue.CLASSIFY_CLIP,
        clip_id,
        label=f"classify clip {clip_id}",
        timeout=task_timeout_s(duration_s),
        cluster=clip_queue(duration_s),
    )


def _queued_again() -> dict[str, Any]:
    return {
        "status": Status.QUEUED, "error": "", "started_at": None, "queued_at": timezone.now(),
        "progress": {}, **NO_LEASE,
    }  # fmt: skip


def _failed(message: str) -> dict[str, Any]:
    return {
        "status": Status.FAILED,
        "error": message,
        "finished_at": timezone.now(),
        "progress": {},
        **NO_LEASE,
    }


def claim(clip_id: int) -> uuid.UUID | None:
    """queued -> processing under a new lease; None when another worker has it, it is finished,
    or it was deleted (safe against a task delivered twice)."""
    token = uuid.uuid4()
    claimed = Clip.objects.filter(pk=clip_id, status=Status.QUEUED).update(
        status=Status.PROCESSING,
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
        error="",
        lease_token=token,
        lease_expires_at=lease_until(),
        worker=worker_id(),
    )
    return token if claimed == 1 else None


def _processing(clip_id: int, token: uuid.UUID | None) -> QuerySet[Clip]:
    """The clip while it is processing under the lease `token` (None: under any lease)."""
    held = Clip.objects.filter(pk=clip_id, status=Status.PROCESSING)
    return held if token is None else held.filter(lease_token=token)


def renew(clip_id: int, token: uuid.UUID) -> bool:
    """Push the lease's expiry forward; False when it was lost (expired and taken back)."""
    return _processing(clip_id, token).update(lease_expires_at=lease_until()) == 1


def holds(clip_id: int, token: uuid.UUID) -> bool:
    """Within a transaction: lock the row and say whether this lease still holds it."""
    return _processing(clip_id, token).select_for_update().exists()


def finish(clip_id: int, token: uuid.UUID | None, **result_fields: Any) -> bool:
    """processing -> done with the result's fields; only under the lease `token` (None: any
    processing clip, for a caller that runs the task itself)."""
    done = _processing(clip_id, token).update(
        status=Status.DONE, error="", finished_at=timezone.now(), progress={}, **NO_LEASE, **result_fields
    )
    return done == 1


def report_progress(clip_id: int, token: uuid.UUID | None, progress: dict[str, Any]) -> bool:
    """A processing clip's progress (seconds done, rate, time left, the timeline so far), stored
    only by the lease's holder, so a worker that lost its clip cannot overwrite another's."""
    return _processing(clip_id, token).update(progress=progress) == 1


def fail(clip_id: int, message: str) -> bool:
    """queued or processing -> failed with a message for the owner. A done clip keeps its result."""
    return Clip.objects.filter(pk=clip_id, status__in=FAIL_FROM).update(**_failed(message)) == 1


def requeue(clip_id: int) -> bool:
    """queued, done or failed -> queued with attempts reset, and the task sent (admin's "classify
    again"). A clip being processed is left to its worker."""
    with transaction.atomic():
        changed = Clip.objects.filter(pk=clip_id, status__in=REQUEUE_FROM).update(
            **_queued_again(), attempts=0
        )
        if changed:
            send(clip_id)
    return changed == 1


def release(clip_id: int, token: uuid.UUID | None, reason: str) -> str:
    """An interrupted attempt (lease expired, task timed out): back in the queue while attempts
    remain, else failed with `reason` for the user. Only the lease's holder (or anyone, for an
    expired lease, when token is None) may do it, once. Returns "requeued", "failed" or ""."""
    held = _processing(clip_id, token)
    clip = held.first()
    if clip is None:
        return ""
    same_attempt = held.filter(lease_token=clip.lease_token)
    if clip.attempts >= settings.CLASSIFY_MAX_ATTEMPTS:
        message = f"{reason} This happened {clip.attempts} times; giving up. Try uploading the file again."
        changed = same_attempt.update(**_failed(message))
        outcome = "failed"
    else:
        with transaction.atomic():
            changed = same_attempt.update(**_queued_again())
            if changed:
                send(clip_id)
        outcome = "requeued"
    if changed:
        logger.warning("clip %s %s: %s", clip_id, outcome, reason, extra={"clip_id": clip_id})
    return outcome if changed else ""


def requeue_expired(now: datetime | None = None, dry_run: bool = False) -> dict[str, list[int]]:
    """Clips whose worker stopped renewing its lease (and any processing row without a lease,
    started longer than a lease ago): released, so requeued or failed after the last try."""
    now = now or timezone.now()
    outcome: dict[str, list[int]] = {"requeued": [], "failed": []}
    lapsed = Q(lease_expires_at__lt=now) | Q(
        lease_expires_at__isnull=True, started_at__lt=now - timedelta(seconds=settings.CLASSIFY_LEASE_S)
    )
    expired = Clip.objects.filter(lapsed, status=Status.PROCESSING)
    for clip_id, holder, attempts in expired.values_list("pk", "worker", "attempts"):
        if dry_run:
            outcome["failed" if attempts >= settings.CLASSIFY_MAX_ATTEMPTS else "requeued"].append(clip_id)
            continue
        done = release(clip_id, None, f"The worker processing it ({holder or 'unknown'}) stopped.")
        if done:
            outcome[done].append(clip_id)
    return outcome


def requeue_lost(now: datetime | None = None, dry_run: bool = False) -> list[int]:
    """The one "lost task" rule: a clip queued longer than a lease while its queue (the clips' or
    the long clips') holds no task at all (its task went with a killed worker's prefetch), or queued longer than
    CLASSIFY_REQUEUE_AFTER_S whatever the broker says (an emptied or lossy broker), gets its task
    sent again. The claim makes a duplicate harmless."""
    now = now or timezone.now()
    lost: list[tuple[int, datetime]] = []
    for name in (settings.CLIPS_QUEUE, settings.LONG_QUEUE):  # each clip by its own queue's state
        waited_s = settings.CLASSIFY_REQUEUE_AFTER_S
        if not queue.broker(name).queue_size():
            waited_s = min(waited_s, settings.CLASSIFY_LEASE_S)
        long_clip = Q(duration_s__gte=settings.LONG_CLIP_S)
        on_queue = long_clip if name == settings.LONG_QUEUE else ~long_clip | Q(duration_s__isnull=True)
        cutoff = now - timedelta(seconds=waited_s)
        waiting = Clip.objects.filter(on_queue, status=Status.QUEUED, queued_at__lt=cutoff)
        lost += [(pk, cutoff) for pk in waiting.values_list("pk", flat=True)]
    if dry_run:
        return [pk for pk, _ in lost]
    sent = []
    for clip_id, cutoff in lost:
        with transaction.atomic():
            still_queued = Clip.objects.filter(pk=clip_id, status=Status.QUEUED, queued_at__lt=cutoff)
            if still_queued.update(queued_at=now):
                send(clip_id)
                sent.append(clip_id)
                logger.warning("clip %s requeued: its task was lost", clip_id, extra={"clip_id": clip_id})
    return sent


def sweep(dry_run: bool = False, now: datetime | None = None) -> dict[str, list[int]]:
    """Expired leases released, lost tasks sent again (workers' keepers do this every few seconds,
    the scheduled sweeper once a minute as a backstop)."""
    outcome = requeue_expired(now=now, dry_run=dry_run)
    outcome["requeued"].extend(requeue_lost(now=now, dry_run=dry_run))
    return outcome
