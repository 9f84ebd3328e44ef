"""The one seam to django-q2: every task is queued here, after the current transaction commits,
by the name of its function in classify/worker/tasks.py."""

from __future__ import annotations

import functools

from django.conf import settings
from django.db import transaction

_TASKS = "classify.worker.tasks."
CLASSIFY_CLIP = _TASKS + "classify_clip"
CLASSIFY_LIVE = _TASKS + "classify_live"
TRAIN_MODEL = _TASKS + "train_model"
SWEEP = _TASKS + "sweep_stale_clips"


def enqueue(task: str, *args, label: str, **options) -> None:
    """Queue `task(*args)` once the current transaction commits (at once outside one), so a
    worker never looks for a row that is not committed yet. `options` are django-q2's (timeout)."""
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task(task, *args, task_name=label, sync=settings.CLASSIFY_SYNC, **options)
    )


@functools.cache
def broker():
    """django-q2's broker, made once per process (get_broker() opens a new connection per call);
    keepers ask it every few seconds, /readyz on every probe."""
    from django_q.brokers import get_broker

    return get_broker()
