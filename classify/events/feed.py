"""What one stream is owed, as server-sent event frames: the clips of its owner (or its one clip)
that changed after the last event it got, each as the API's JSON, in the order they changed.

Each frame's `id` is the clip's `event_seq` (one sequence for all clips, set by the database's
trigger), so a client that reconnects with `Last-Event-ID: N` gets every clip that changed after N
in its current state: nothing is missed, steps in between may be folded into the latest."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import close_old_connections
from django.db.models import Max, QuerySet

from classify.models import Clip

# A reconnecting client far behind gets its clips in batches of this many.
BATCH = 50
# Until a first event: how long a reconnecting browser waits (SSE's `retry:` field).
RETRY_MS = 3000

# The API's JSON of each clip of a query, in its order, with the clip's event_seq and when it
# turns late if nothing changes (classify/clips/public.py: turns_late_at).
Render = Callable[[QuerySet[Clip]], list[tuple[int, dict[str, Any], float | None]]]


def frame(event: str, data: Any, event_id: int | None = None) -> bytes:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode()


def comment(text: str) -> bytes:
    return f": {text}\n\n".encode()


@dataclass
class Event:
    """One frame as a client reads it (event "" for a comment, which says the stream is alive)."""

    event: str
    data: Any = None
    id: int | None = None


def read_frames(chunks: Iterable[bytes]) -> Iterator[Event]:
    """The frames of a stream as they arrive, whatever the chunks' boundaries (for the tests and
    the load bench, which read streams as any client would)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        while b"\n\n" in pending:
            block, pending = pending.split(b"\n\n", 1)
            fields: dict[str, str] = {}
            for line in block.decode().splitlines():
                name, _, value = line.partition(":")
                fields.setdefault(name, value.removeprefix(" "))
            if "" in fields and "event" not in fields:
                yield Event("")
            elif "data" in fields:
                event_id = int(fields["id"]) if fields.get("id") else None
                yield Event(fields.get("event", "message"), json.loads(fields["data"]), event_id)


class Feed:
    """The database side of one stream. Every method is synchronous (it queries); an ASGI stream
    calls them in a worker thread."""

    def __init__(self, owner: AbstractBaseUser, clip_id: int | None, last_id: int | None, render: Render):
        self.owner, self.clip_id, self.render = owner, clip_id, render
        self.cursor = last_id
        self.resuming = last_id is not None
        # Clips sent while waiting or working and not late yet, with when they turn late if
        # nothing changes: lateness comes with time, not with a change, so `recheck` sends them
        # again at that moment (one query then, none before).
        self.turning_late: dict[int, float] = {}

    def clip_frame(self, row: dict[str, Any], event_id: int | None, late_at: float | None) -> bytes:
        if late_at is not None and not row["late"]:
            self.turning_late[row["id"]] = late_at
        else:
            self.turning_late.pop(row["id"], None)
        return frame("clip", row, event_id=event_id)

    def next_late_in_s(self, now: float) -> float | None:
        """Seconds until the next clip sent turns late (None: none will)."""
        return max(0.0, min(self.turning_late.values()) - now) if self.turning_late else None

    def clips(self) -> QuerySet[Clip]:
        mine = Clip.objects.for_user(self.owner)
        return mine if self.clip_id is None else mine.filter(pk=self.clip_id)

    def opening(self) -> list[bytes]:
        """The first frames: how long to wait before reconnecting, `ready` (a page that never sees
        it is behind a buffering proxy, and polls), then what the client is owed: after its
        Last-Event-ID when it resumes, else the current state of its clip, or of its clips still
        waiting or working, all under the newest id so far."""
        close_old_connections()
        opening = [f"retry: {RETRY_MS}\n\n".encode()]
        if self.resuming:
            opening.append(frame("ready", {"resumed_after": self.cursor}))
            return opening + self.news([])
        newest = Clip.objects.for_user(self.owner).aggregate(newest=Max("event_seq"))["newest"] or 0
        self.cursor = newest
        opening.append(frame("ready", {"resumed_after": None}, event_id=newest))
        current = self.clips()
        if self.clip_id is None:
            current = current.filter(status__in=[Clip.Status.QUEUED, Clip.Status.PROCESSING])
        opening += [
            self.clip_frame(row, newest, late_at)
            for _, row, late_at in self.render(current.order_by("event_seq"))
        ]
        return opening

    def news(self, deleted: list[int]) -> list[bytes]:
        """What changed after the cursor, and the clips deleted (as the hub heard them)."""
        close_old_connections()
        frames = [frame("deleted", {"id": pk}) for pk in deleted if self.clip_id in (None, pk)]
        for pk in deleted:
            self.turning_late.pop(pk, None)
        while True:
            changed = self.clips().filter(event_seq__gt=self.cursor or 0).order_by("event_seq")[:BATCH]
            rows = self.render(changed)
            if not rows:
                return frames
            for seq, row, late_at in rows:
                frames.append(self.clip_frame(row, seq, late_at))
            self.cursor = max(seq for seq, _, _ in rows)
            if len(rows) < BATCH:
                return frames

    def recheck(self, now: float) -> list[bytes]:
        """The clips whose time to turn late has come, sent again if they did (no id: nothing
        changed in the database, so a client resuming is owed nothing new)."""
        due = [pk for pk, late_at in self.turning_late.items() if late_at <= now]
        if not due:
            return []
        close_old_connections()
        for pk in due:
            self.turning_late.pop(pk)
        rows = self.render(self.clips().filter(pk__in=due))
        return [self.clip_frame(row, None, late_at) for _, row, late_at in rows if row["late"]]
