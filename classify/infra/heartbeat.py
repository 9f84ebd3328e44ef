"""The workers' heartbeats and model state in the shared cache: written by workers, read by /readyz.

One heartbeat per queue (clips, live windows, training): each says when a worker of that queue
last reported and, for the queues that classify, which model version it has loaded. A worker
beats only once its model is loaded (classify/worker/startup.py), so a heartbeat means "ready"."""

from __future__ import annotations

import time

from django.core.cache import cache

HEARTBEAT_KEY = "workers:last-heartbeat"  # the clips' queue


def _key(queue: str | None) -> str:
    return HEARTBEAT_KEY if queue is None else f"{HEARTBEAT_KEY}:{queue}"


def beat(queue: str | None = None, model_version: str = "") -> None:
    cache.set(_key(queue), time.time(), timeout=None)
    if model_version:
        cache.set(_key(queue) + ":model", model_version, timeout=None)


def last_heartbeat_age_s(queue: str | None = None) -> float | None:
    seen = cache.get(_key(queue))
    return None if seen is None else max(0.0, time.time() - float(seen))


def model_version(queue: str | None = None) -> str:
    return cache.get(_key(queue) + ":model") or ""


MODEL_ERROR_KEY = "workers:model-error"


def report_model_error(message: str | None) -> None:
    """A worker could not load the active model version (None: it loaded)."""
    if message is None:
        cache.delete(MODEL_ERROR_KEY)
    else:
        cache.set(MODEL_ERROR_KEY, message, timeout=None)


def model_error() -> str | None:
    return cache.get(MODEL_ERROR_KEY)
