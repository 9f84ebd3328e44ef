"""Who is classifying which clip, and for how long they may be trusted to.

A worker that claims a clip takes a lease (a token and an expiry, CLASSIFY_LEASE_S ahead) and a
keeper thread in the worker process renews it while the work goes on. A worker killed with
`kill -9`, or a machine that vanished, stops renewing: any living worker's keeper notices the
expired lease within seconds and puts the clip back in the queue (or fails it after
CLASSIFY_MAX_ATTEMPTS tries). Results are stored only under a lease still held, so a clip is never
done twice. The keeper also beats the worker heartbeat that /readyz reads, and queues again clips whose task
was lost with a killed worker's prefetch.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections
from django.db.models import F, Q
from django.utils import timezone

from classify.models import Clip

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "workers:last-heartbeat"


def worker_id() -> str:
    """host:pid of this process (forked workers have their own pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_until():
    return timezone.now() + timedelta(seconds=settings.CLASSIFY_LEASE_S)


def claim(clip_id: int) -> uuid.UUID | None:
    """Atomically move a queued clip to processing under a new lease; None when another worker
    has it, it is finished, or it was deleted (safe against a task delivered twice)."""
    token = uuid.uuid4()
    claimed = Clip.objects.filter(pk=clip_id, status=Clip.Status.QUEUED).update(
        status=Clip.Status.PROCESSING,
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
        error="",
        lease_token=token,
        lease_expires_at=lease_until(),
        worker=worker_id(),
    )
    return token if claimed == 1 else None


def renew(clip_id: int, token: uuid.UUID) -> bool:
    """Push the lease's expiry forward; False when it was lost (expired and taken back)."""
    return (
        Clip.objects.filter(pk=clip_id, status=Clip.Status.PROCESSING, lease_token=token).update(
            lease_expires_at=lease_until()
        )
        == 1
    )


def release(clip_id: int, token: uuid.UUID | None, reason: str) -> str:
    """An interrupted attempt (lease expired, task timed out): back in the queue while attempts
    remain, else failed with `reason` for the user. Only the lease's holder (or anyone, for an
    expired lease, when token is None) may do it, once. Returns "requeued", "failed" or ""."""
    from classify.services import enqueue, failed, queued_again

    held = Clip.objects.filter(pk=clip_id, status=Clip.Status.PROCESSING)
    if token is not None:
        held = held.filter(lease_token=token)
    clip = held.first()
    if clip is None:
        return ""
    same_attempt = held.filter(lease_token=clip.lease_token)
    if clip.attempts >= settings.CLASSIFY_MAX_ATTEMPTS:
        message = f"{reason} This happened {clip.attempts} times; giving up. Try uploading the file again."
        changed = same_attempt.update(**failed(message))
        outcome = "failed"
    else:
        changed = same_attempt.update(**queued_again())
        if changed:
            enqueue(clip)
        outcome = "requeued"
    if changed:
        logger.warning("clip %s %s: %s", clip_id, outcome, reason, extra={"clip_id": clip_id})
    return outcome if changed else ""


def requeue_expired(now=None, dry_run: bool = False) -> dict[str, list[int]]:
    """Clips whose worker stopped renewing its lease (and any `processing` row without a lease,
    started longer than a lease ago): requeued, or failed after the last try."""
    now = now or timezone.now()
    outcome: dict[str, list[int]] = {"requeued": [], "failed": []}
    lapsed = Q(lease_expires_at__lt=now) | Q(
        lease_expires_at__isnull=True, started_at__lt=now - timedelta(seconds=settings.CLASSIFY_LEASE_S)
    )
    expired = Clip.objects.filter(lapsed, status=Clip.Status.PROCESSING)
    for clip_id, holder, attempts in expired.values_list("pk", "worker", "attempts"):
        if dry_run:
            outcome["failed" if attempts >= settings.CLASSIFY_MAX_ATTEMPTS else "requeued"].append(clip_id)
            continue
        done = release(clip_id, None, f"The worker processing it ({holder or 'unknown'}) stopped.")
        if done:
            outcome[done].append(clip_id)
    return outcome


@functools.cache
def queue_broker():
    """django-q2's broker, made once per process (get_broker() opens a new connection per call);
    the keeper asks it every few seconds, /readyz on every probe."""
    from django_q.brokers import get_broker

    return get_broker()


def requeue_orphans(now=None) -> list[int]:
    """Clips queued longer than a lease while the broker holds no task at all: their task was
    lost (prefetched by a worker that was killed). Queued once more at once rather than after
    CLASSIFY_REQUEUE_AFTER_S; a task that was only slow is then skipped by the claim."""
    from classify.services import requeue

    if queue_broker().queue_size():
        return []
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.CLASSIFY_LEASE_S)
    orphans = list(Clip.objects.filter(status=Clip.Status.QUEUED, queued_at__lt=cutoff))
    for clip in orphans:
        requeue(clip, reset_attempts=False)
        logger.warning("clip %s requeued: its task was lost", clip.pk, extra={"clip_id": clip.pk})
    return [clip.pk for clip in orphans]


# Leases held by this process: clip id -> token, renewed by the keeper.
_held: dict[int, uuid.UUID] = {}
_held_lock = threading.Lock()


@contextmanager
def holding(clip_id: int, token: uuid.UUID) -> Iterator[None]:
    with _held_lock:
        _held[clip_id] = token
    try:
        yield
    finally:
        with _held_lock:
            _held.pop(clip_id, None)


def beat() -> None:
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


def last_heartbeat_age_s() -> float | None:
    seen = cache.get(HEARTBEAT_KEY)
    return None if seen is None else max(0.0, time.time() - float(seen))


class Keeper(threading.Thread):
    """Per worker process: renew held leases, beat the heartbeat, take back expired leases."""

    def __init__(self, interval_s: float):
        super().__init__(name="lease-keeper", daemon=True)
        self.interval_s = interval_s

    def run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # the database may be away for a moment: try again next tick
                logger.exception("lease keeper tick failed")
                close_old_connections()
            time.sleep(self.interval_s)

    def tick(self) -> None:
        with _held_lock:
            held = dict(_held)
        for clip_id, token in held.items():
            if not renew(clip_id, token):
                logger.warning("lost the lease on clip %s", clip_id, extra={"clip_id": clip_id})
        beat()
        requeue_expired()
        requeue_orphans()


_keeper: Keeper | None = None


def start_keeper() -> None:
    """Once per process (each forked django-q2 worker calls it as it starts)."""
    global _keeper
    if _keeper is None or not _keeper.is_alive():
        _keeper = Keeper(interval_s=max(1.0, settings.CLASSIFY_LEASE_S / 6))
        _keeper.start()
