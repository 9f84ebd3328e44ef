"""A stream's loop: its opening frames, then whatever the hub says changed, a keep-alive comment
when nothing did, and an end after EVENT_STREAM_MAX_S (the client reconnects with Last-Event-ID,
so no connection is held forever). Two forms of one loop: a coroutine for the ASGI events server
(thousands of idle streams on one thread) and a generator for a WSGI thread (tests, a single
process without the events server). The stream subscribes as it starts, so a response closed
before it is read holds nothing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.conf import settings

from classify.events.feed import Feed, comment
from classify.events.hub import hub

# Whatever the notices say, a stream looks this often while the listener is away (a database
# restart), so it is late by seconds at worst.
UNHEARD_EVERY_S = 2.0


def _wait_s() -> float:
    return settings.EVENT_KEEPALIVE_S if hub.listening.is_set() else UNHEARD_EVERY_S


def threaded_frames(feed: Feed) -> Iterator[bytes]:
    subscription = hub.subscribe(feed.owner.pk)  # before the opening query: nothing falls between
    try:
        yield from feed.opening()
        deadline = time.monotonic() + settings.EVENT_STREAM_MAX_S
        while time.monotonic() < deadline:
            heard = subscription.wait(_wait_s())
            frames = feed.news(subscription.take()) if heard or not hub.listening.is_set() else []
            yield from frames or feed.recheck() or [comment("keep-alive")]
    finally:
        hub.unsubscribe(subscription)


async def async_frames(feed: Feed) -> AsyncIterator[bytes]:
    subscription = hub.subscribe(feed.owner.pk)
    subscription.bind_loop()
    opening = sync_to_async(feed.opening, thread_sensitive=False)
    news = sync_to_async(feed.news, thread_sensitive=False)
    recheck = sync_to_async(feed.recheck, thread_sensitive=False)
    try:
        for chunk in await opening():
            yield chunk
        deadline = time.monotonic() + settings.EVENT_STREAM_MAX_S
        while time.monotonic() < deadline:
            heard = await subscription.wait_async(_wait_s())
            frames = await news(subscription.take()) if heard or not hub.listening.is_set() else []
            for chunk in frames or await recheck() or [comment("keep-alive")]:
                yield chunk
    finally:
        hub.unsubscribe(subscription)
