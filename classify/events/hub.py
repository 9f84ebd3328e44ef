"""One listener per web process: a thread holds a PostgreSQL connection on LISTEN clip_events (the
triggers of migration 0013 announce every clip change) and wakes the streams of the clip's owner.

Nothing here reads a clip: a notice only says "owner N has news" (and which clips were deleted);
each stream then asks the database once for what it is owed (classify/events/feed.py), so notices
that pile up while a stream is busy cost one query, and a lost notice costs nothing but latency.
When the connection drops, every stream is woken once the listener is back, so none waits on a
notice that went missing meanwhile.

Streams wait either in a thread (a WSGI server) or on an asyncio loop (the ASGI events server):
`Subscription` serves both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import defaultdict

import psycopg
from django.db import connections

logger = logging.getLogger(__name__)

CHANNEL = "clip_events"
RECONNECT_AFTER_S = (0.5, 1.0, 2.0, 5.0)


class Subscription:
    """One stream's inbox: a flag that news came, the clips deleted meanwhile, and the means to
    wait for either in a thread or a coroutine."""

    def __init__(self, owner_id: int):
        self.owner_id = owner_id
        self.deleted: list[int] = []
        self._news = threading.Event()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._async_news: asyncio.Event | None = None

    def bind_loop(self) -> None:
        """Called from the coroutine that will wait (an ASGI stream)."""
        self._loop = asyncio.get_running_loop()
        self._async_news = asyncio.Event()
        if self._news.is_set():
            self._async_news.set()

    def notify(self, deleted: int | None = None) -> None:
        with self._lock:
            if deleted is not None:
                self.deleted.append(deleted)
            self._news.set()
        if self._loop is not None and self._async_news is not None:
            with contextlib.suppress(RuntimeError):  # the stream's loop closed: it is going away
                self._loop.call_soon_threadsafe(self._async_news.set)

    def take(self) -> list[int]:
        """Clear the flag; the clips deleted since the last take."""
        with self._lock:
            self._news.clear()
            if self._async_news is not None:
                self._async_news.clear()
            deleted, self.deleted = self.deleted, []
        return deleted

    def wait(self, timeout_s: float) -> bool:
        return self._news.wait(timeout_s)

    async def wait_async(self, timeout_s: float) -> bool:
        assert self._async_news is not None, "bind_loop() first"
        try:
            await asyncio.wait_for(self._async_news.wait(), timeout_s)
        except TimeoutError:
            return False
        return True


class Hub:
    """The process's listener thread and the subscriptions it wakes, by owner."""

    def __init__(self) -> None:
        self._by_owner: dict[int, set[Subscription]] = defaultdict(set)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()

    def subscribe(self, owner_id: int) -> Subscription:
        self._ensure_listening()
        subscription = Subscription(owner_id)
        with self._lock:
            self._by_owner[owner_id].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            owned = self._by_owner.get(subscription.owner_id)
            if owned is not None:
                owned.discard(subscription)
                if not owned:
                    del self._by_owner[subscription.owner_id]

    def count(self, owner_id: int | None = None) -> int:
        """Streams open in this process (of one owner)."""
        with self._lock:
            if owner_id is not None:
                return len(self._by_owner.get(owner_id, ()))
            return sum(len(owned) for owned in self._by_owner.values())

    def deliver(self, payload: str) -> None:
        """'<owner>:<clip>:<seq>' or '<owner>:<clip>:deleted'."""
        try:
            owner_text, clip_text, what = payload.split(":")
            owner_id, clip_id = int(owner_text), int(clip_text)
        except ValueError:
            logger.warning("ignored a malformed clip event %r", payload)
            return
        with self._lock:
            targets = list(self._by_owner.get(owner_id, ()))
        for subscription in targets:
            subscription.notify(deleted=clip_id if what == "deleted" else None)

    def wake_all(self) -> None:
        with self._lock:
            targets = [s for owned in self._by_owner.values() for s in owned]
        for subscription in targets:
            subscription.notify()

    def _ensure_listening(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._listen_forever, name="clip-events", daemon=True)
                self._thread.start()

    def _listen_forever(self) -> None:
        failures = 0
        while True:
            try:
                with psycopg.connect(**connection_params(), autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    if failures:
                        logger.info("listening for clip events again")
                        self.wake_all()  # notices may have gone missing while it was away
                    failures = 0
                    for notice in connection.notifies():
                        self.deliver(notice.payload)
            except Exception as error:  # the database restarting: streams fall back on their timers
                self.listening.clear()
                pause_s = RECONNECT_AFTER_S[min(failures, len(RECONNECT_AFTER_S) - 1)]
                failures += 1
                logger.warning(
                    "clip events listener lost its connection (%s); again in %.1f s", error, pause_s
                )
                time.sleep(pause_s)


def connection_params() -> dict:
    """The default database's libpq parameters, as Django would connect (the test database in
    tests), for a connection of the listener's own."""
    params = connections["default"].get_connection_params()
    return {k: v for k, v in params.items() if k not in {"cursor_factory", "context", "prepare_threshold"}}


hub = Hub()
