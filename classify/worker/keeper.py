"""Per worker process, a keeper thread: renew the leases this process holds (clips, a training
run), beat its queue's heartbeat, and run the sweeps (expired leases of dead workers, lost tasks,
training runs whose worker died)."""

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
from classify.model_versions import loader, training

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
    def __init__(self, interval_s: float, queue: str | None):
        super().__init__(name="lease-keeper", daemon=True)
        self.interval_s = interval_s
        self.queue = queue

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
        training.renew_running()
        beat(self.queue, loader.loaded_version())
        state.sweep()
        training.fail_abandoned()


_keeper: Keeper | None = None


def tick_interval_s() -> float:
    """Six ticks per the shorter lease (clips' or training's, at least a second apart), so one
    late tick on a loaded machine never lets a living worker's lease run out."""
    return max(1.0, min(settings.CLASSIFY_LEASE_S, settings.TRAINING_LEASE_S) / 6)


def start_keeper(queue: str | None = None) -> None:
    """Once per process (each forked django-q2 worker calls it as it starts, with its queue)."""
    global _keeper
    if _keeper is None or not _keeper.is_alive():
        _keeper = Keeper(interval_s=tick_interval_s(), queue=queue)
        _keeper.start()
