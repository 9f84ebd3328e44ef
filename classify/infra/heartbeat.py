"""The workers' heartbeat in the shared cache: beaten by every worker's keeper, read by /readyz."""

from __future__ import annotations

import time

from django.core.cache import cache

HEARTBEAT_KEY = "workers:last-heartbeat"


def beat() -> None:
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


def last_heartbeat_age_s() -> float | None:
    seen = cache.get(HEARTBEAT_KEY)
    return None if seen is None else max(0.0, time.time() - float(seen))
