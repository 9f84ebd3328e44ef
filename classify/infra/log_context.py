"""The clip a log line is about, on every line a worker writes while it works on one.

A context variable holds the clip id from the moment django-q2 hands a worker a clip's task until
the task ends; a logging filter copies it onto each record (as `clip_id`), so both the plain and
the JSON formats (LOG_FORMAT=json, for log collectors) carry it.
"""

from __future__ import annotations

import contextvars
import logging

from classify.infra import queue

current_clip: contextvars.ContextVar[int | None] = contextvars.ContextVar("current_clip", default=None)

CLIP_TASKS = {queue.CLASSIFY_CLIP}


class ClipIdFilter(logging.Filter):
    """Adds `clip_id` (or "-") to every record that does not already carry one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "clip_id", None) is None:
            clip_id = current_clip.get()
            record.clip_id = "-" if clip_id is None else clip_id
        return True


def task_started(sender, func, task, **kwargs) -> None:
    """django-q2's pre_execute: remember the clip of a classify task."""
    name = task.get("func")
    name = (
        name
        if isinstance(name, str)
        else f"{getattr(name, '__module__', '')}.{getattr(name, '__name__', '')}"
    )
    args = task.get("args") or ()
    current_clip.set(args[0] if name in CLIP_TASKS and args else None)


def task_finished(sender, task, **kwargs) -> None:
    current_clip.set(None)
