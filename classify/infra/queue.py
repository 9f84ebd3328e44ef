"""The one seam to django-q2: every task is queued here, after the current transaction commits,
by the name of its function in classify/worker/tasks.py."""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

_TASKS = "classify.worker.tasks."
CLASSIFY_CLIP = _TASKS + "classify_clip"
CLASSIFY_LIVE = _TASKS + "classify_live"
TRAIN_MODEL = _TASKS + "train_model"
SWEEP = _TASKS + "sweep_stale_clips"


def queue_of(task: str) -> str:
    """The django-q2 queue (cluster) a task goes to, always by name: live windows and training
    have their own (settings.LIVE_QUEUE, TRAINING_QUEUE), everything else the clips'
    (settings.CLIPS_QUEUE). Unnamed, django-q2 would pick the sending process's own cluster."""
    own: dict[str, str] = {CLASSIFY_LIVE: settings.LIVE_QUEUE, TRAIN_MODEL: settings.TRAINING_QUEUE}
    return own.get(task, str(settings.CLIPS_QUEUE))


def enqueue(task: str, *args, label: str, resent_by_keepers: bool = True, **options) -> None:
    """Queue `task(*args)` once the current transaction commits (at once outside one), so a
    worker never looks for a row that is not committed yet. `options` are django-q2's (timeout).

    The rows are committed by then, so a broker that is down must not turn the request into an
    error: the failure is logged and the work waits in its row, where the keepers' lost-task rule
    (classify/clips/state.py) sends it again once the broker is back. Work no keeper sends again
    (`resent_by_keepers=False`: a training run) lets the error through. In sync mode (tests) the
    task runs here and its errors propagate."""
    from django_q.tasks import async_task

    options["cluster"] = options.get("cluster") or queue_of(task)

    def send() -> None:
        if settings.CLASSIFY_SYNC or not resent_by_keepers:
            async_task(task, *args, task_name=label, sync=settings.CLASSIFY_SYNC, **options)
            return
        try:
            async_task(task, *args, task_name=label, **options)
        except Exception:
            logger.exception("could not queue %s (%s); it stays in its row for the keepers", label, task)

    transaction.on_commit(send)


@functools.cache
def broker(cluster: str | None = None):
    """django-q2's broker of one queue (None: the clips', whichever cluster asks), made once per
    process (get_broker() opens a new connection per call); keepers ask it every few seconds,
    /readyz on every probe."""
    from django_q.brokers import get_broker

    return get_broker(cluster or settings.CLIPS_QUEUE)
