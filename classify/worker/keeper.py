"""Per worker process, a keeper thread: renew the leases this process holds, beat the heartbeat,
and run the state machine's sweep (expired leases of dead workers, lost tasks)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import close_old_connections

from classify.clips import state
from classify.infra.heartbeat import beat

logger = logging.getLogger(__name__)

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


class Keeper(threading.Thread):
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
            if not state.renew(clip_id, token):
                logger.warning("lost the lease on clip %s", clip_id, extra={"clip_id": clip_id})
        beat()
        state.sweep()


_keeper: Keeper | None = None


def start_keeper() -> None:
    """Once per process (each forked django-q2 worker calls it as it starts)."""
    global _keeper
    if _keeper is None or not _keeper.is_alive():
        _keeper = Keeper(interval_s=max(1.0, settings.CLASSIFY_LEASE_S / 6))
        _keeper.start()
