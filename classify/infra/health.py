"""Health probes for load balancers and orchestrators: facts only, no user data, no login.

`liveness`: the process answers. `readiness`: everything a request or a clip needs works: the
database answers, the broker answers, a worker beat its heartbeat within WORKER_HEARTBEAT_MAX_S,
and the file storage (folder or bucket) takes a write.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection

from classify.infra import heartbeat, queue, storage

logger = logging.getLogger(__name__)

WORKER_HEARTBEAT_MAX_S = 60.0


def liveness() -> dict:
    return {"status": "ok"}


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_broker() -> str:
    broker = queue.broker()
    broker.ping()
    return f"ok, {broker.queue_size()} queued"


def check_worker() -> str:
    age_s = heartbeat.last_heartbeat_age_s()
    if age_s is None:
        raise RuntimeError("no worker has reported yet")
    if age_s > WORKER_HEARTBEAT_MAX_S:
        raise RuntimeError(f"the last worker heartbeat is {age_s:.0f} s old")
    if (error := heartbeat.model_error()) is not None:
        raise RuntimeError(error)
    return f"ok, heartbeat {age_s:.0f} s ago"


STORAGE_CHECK_EVERY_S = 10.0
_storage_checked: tuple[float, str | None] = (-STORAGE_CHECK_EVERY_S, None)  # (when, error or None)


def check_storage() -> str:
    """Write, read and delete a probe object at most every STORAGE_CHECK_EVERY_S per process: a
    probe asked many times a second must not cost a storage round trip (billed on S3) each time."""
    global _storage_checked
    checked_at, error = _storage_checked
    if time.monotonic() - checked_at >= STORAGE_CHECK_EVERY_S:
        try:
            storage.check_writable()
            error = None
        except Exception as failure:
            logger.warning("storage check failed: %r", failure)
            error = "unreachable or refusing writes (see the server's log)"
        _storage_checked = (time.monotonic(), error)
    if error is not None:
        raise RuntimeError(error)
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "worker": check_worker,
    "storage": check_storage,
}


def readiness() -> tuple[bool, dict]:
    """(ready, body): each check's outcome and time. A failing check says what failed in words
    of our own (details go to the log, not to whoever asks)."""
    results, ready = {}, True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail, ok = check(), True
        except RuntimeError as error:
            detail, ok = str(error), False
        except Exception:
            logger.exception("readiness check %s failed", name)
            detail, ok = "unreachable or refusing (see the server's log)", False
        ready &= ok
        results[name] = {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}
    return ready, {"status": "ready" if ready else "not ready", "checks": results}


def may_see_details(authorization: str) -> bool:
    """Each check's detail (queue depth, heartbeat age) is for monitors holding HEALTH_TOKEN."""
    token = settings.HEALTH_TOKEN
    return bool(token) and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode())
