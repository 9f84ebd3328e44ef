"""Health probes for load balancers and orchestrators: facts only, no user data, no login.

`liveness`: the process answers. `readiness`: everything a request or a clip needs works: the
database answers, the broker answers, a clip worker with its model loaded beat its heartbeat
within WORKER_HEARTBEAT_MAX_S, and the file storage (folder or bucket) takes a write.

Status: "starting" (503) until a clip worker has loaded its model and reported once; "not ready"
(503) when a required check fails; "degraded" (200: serving, but slower than it should) when the
oldest queued clip has waited longer than READY_QUEUE_AGE_MAX_S or no live-window worker
reports; else "ready".
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from classify.infra import heartbeat, queue, storage
from classify.models import Clip

logger = logging.getLogger(__name__)

WORKER_HEARTBEAT_MAX_S = 20.0  # keepers beat every CLASSIFY_LEASE_S / 6 (under 2 s)


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


class Starting(RuntimeError):
    """No worker has loaded its model yet."""


# While this process is younger than this, a heartbeat older than WORKER_HEARTBEAT_MAX_S is the
# last run's: the workers started with it are still loading their models ("starting", not "not
# ready": issue 27 saw 503 "not ready" and ERROR lines for the first seconds of every start).
STARTING_GRACE_S = 90.0
STARTED_AT = time.monotonic()


def worker_state(queue: str | None) -> str:
    age_s = heartbeat.last_heartbeat_age_s(queue)
    if age_s is None:
        raise Starting("no worker has loaded its model and reported yet")
    if age_s > WORKER_HEARTBEAT_MAX_S:
        if time.monotonic() - STARTED_AT < STARTING_GRACE_S:
            raise Starting(f"workers are starting (the last heartbeat, {age_s:.0f} s old, is from before)")
        raise RuntimeError(f"the last worker heartbeat is {age_s:.0f} s old")
    version = heartbeat.model_version(queue)
    return f"ok, model {version or 'loaded'}, heartbeat {age_s:.0f} s ago"


def check_worker() -> str:
    detail = worker_state(None)
    if (error := heartbeat.model_error()) is not None:
        raise RuntimeError(error)
    return detail


def check_live_worker() -> str:
    return worker_state(settings.LIVE_QUEUE)


def check_long_worker() -> str:
    return worker_state(settings.LONG_QUEUE)


def check_queue_age() -> str:
    """The oldest queued clip's wait: clips waiting long means too few workers for the load."""
    oldest = Clip.objects.filter(status=Clip.Status.QUEUED).aggregate(oldest=Min("queued_at"))["oldest"]
    if oldest is None:
        return "ok, no clip waiting"
    waited_s = (timezone.now() - oldest).total_seconds()
    if waited_s > settings.READY_QUEUE_AGE_MAX_S:
        raise RuntimeError(f"the oldest queued clip has waited {waited_s:.0f} s")
    return f"ok, oldest queued clip waited {waited_s:.0f} s"


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


# Required: a failure makes /readyz 503.
CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "worker": check_worker,
    "storage": check_storage,
}
# Service goes on without them, slower or without live mode: a failure makes it "degraded".
DEGRADING_CHECKS: dict[str, Callable[[], str]] = {
    "queue_age": check_queue_age,
    "live_worker": check_live_worker,
    "long_worker": check_long_worker,  # without it, long recordings wait; everything else goes on
}


def run_check(name: str, check: Callable[[], str]) -> dict:
    started = time.perf_counter()
    starting = False
    try:
        detail, ok = check(), True
    except Starting as error:
        detail, ok, starting = str(error), False, True
    except RuntimeError as error:
        detail, ok = str(error), False
    except Exception:
        logger.exception("readiness check %s failed", name)
        detail, ok = "unreachable or refusing (see the server's log)", False
    result = {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}
    return {**result, "starting": True} if starting else result


def readiness() -> tuple[bool, dict]:
    """(ready, body): the status and each check's outcome and time. A failing check says what
    failed in words of our own (details go to the log, not to whoever asks)."""
    results = {name: run_check(name, check) for name, check in CHECKS.items()}
    failed = [name for name, result in results.items() if not result["ok"]]
    if failed:
        starting = all(results[name].get("starting") for name in failed)
        return False, {"status": "starting" if starting else "not ready", "checks": results}
    results.update({name: run_check(name, check) for name, check in DEGRADING_CHECKS.items()})
    degraded = not all(result["ok"] for result in results.values())
    return True, {"status": "degraded" if degraded else "ready", "checks": results}


def may_see_details(authorization: str) -> bool:
    """Each check's detail (queue depth, heartbeat age) is for monitors holding HEALTH_TOKEN."""
    token = settings.HEALTH_TOKEN
    return bool(token) and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode())
