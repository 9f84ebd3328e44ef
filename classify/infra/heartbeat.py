"""The workers' heartbeat and model state in the shared cache: written by workers, read by /readyz."""

from __future__ import annotations

import time

from django.core.cache import cache

HEARTBEAT_KEY = "workers:last-heartbeat"


def beat() -> None:
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


def last_heartbeat_age_s() -> float | None:
    seen = cache.get(HEARTBEAT_KEY)
    return None if seen is None else max(0.0, time.time() - float(seen))


MODEL_ERROR_KEY = "workers:model-error"


def report_model_error(message: str | None) -> None:
    """A worker could not load the active model version (None: it loaded)."""
    if message is None:
        cache.delete(MODEL_ERROR_KEY)
    else:
        cache.set(MODEL_ERROR_KEY, message, timeout=None)


def model_error() -> str | None:
    return cache.get(MODEL_ERROR_KEY)
