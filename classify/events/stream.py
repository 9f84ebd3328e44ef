"""A stream's loop: its opening frames, then whatever the hub says changed, a keep-alive comment
when nothing did, and an end after EVENT_STREAM_MAX_S (the client reconnects with Last-Event-ID,
so no connection is held forever). Two forms of one loop: a coroutine for the ASGI events server
(thousands of idle streams on one thread) and a generator for a WSGI thread (tests, a single
process without the events server). The stream subscribes as it starts, so a response closed
before it is read holds nothing."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings

from classify.events.feed import Feed, comment
from classify.events.hub import hub

# Whatever the notices say, a stream looks this often while the listener is away (a database
# restart), so it is late by seconds at worst.
UNHEARD_EVERY_S = 2.0


Result = TypeVar("Result")


class FeedThreads:
    """Where an ASGI stream's queries run: a few threads, each with a context (and so a database
    connection) of its own for as long as the process lives. Run in the request's context
    instead (asgiref's sync_to_async), every open stream would hold a connection of its own until
    it ends: a thousand idle pages, a thousand connections."""

    def __init__(self, size: int):
        self.size = size
        self.local = threading.local()
        self.pool: ThreadPoolExecutor | None = None

    def _in_own_context(self, call: Callable[..., Result], *args: object) -> Result:
        if not hasattr(self.local, "context"):
            self.local.context = contextvars.Context()
        return self.local.context.run(call, *args)

    async def run(self, call: Callable[..., Result], *args: object) -> Result:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(self.size, thread_name_prefix="event-feed")
        return await asyncio.get_running_loop().run_in_executor(self.pool, self._in_own_context, call, *args)


feed_threads = FeedThreads(size=4)


def _wait_s(feed: Feed) -> float:
    """Until the keep-alive, a clip turning late, or (the listener away) the next look."""
    wait_s = float(settings.EVENT_KEEPALIVE_S if hub.listening.is_set() else UNHEARD_EVERY_S)
    late_in_s = feed.next_late_in_s(time.time())
    return wait_s if late_in_s is None else min(wait_s, late_in_s + 0.05)


def threaded_frames(feed: Feed) -> Iterator[bytes]:
    subscription = hub.subscribe(feed.owner.pk)  # before the opening query: nothing falls between
    try:
        yield from feed.opening()
        deadline = time.monotonic() + settings.EVENT_STREAM_MAX_S
        while time.monotonic() < deadline:
            heard = subscription.wait(_wait_s(feed))
            frames = feed.news(subscription.take()) if heard or not hub.listening.is_set() else []
            yield from frames or feed.recheck(time.time()) or [comment("keep-alive")]
    finally:
        hub.unsubscribe(subscription)


async def async_frames(feed: Feed) -> AsyncIterator[bytes]:
    subscription = hub.subscribe(feed.owner.pk)
    subscription.bind_loop()
    try:
        for chunk in await feed_threads.run(feed.opening):
            yield chunk
        deadline = time.monotonic() + settings.EVENT_STREAM_MAX_S
        while time.monotonic() < deadline:
            heard = await subscription.wait_async(_wait_s(feed))
            listening = hub.listening.is_set()
            frames = await feed_threads.run(feed.news, subscription.take()) if heard or not listening else []
            for chunk in (
                frames or await feed_threads.run(feed.recheck, time.time()) or [comment("keep-alive")]
            ):
                yield chunk
    finally:
        hub.unsubscribe(subscription)
