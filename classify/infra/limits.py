"""Per-user rate limits kept in the shared cache, so one limit holds for every web process.

The cache is Redis or a PostgreSQL table (settings.CACHES), never process memory: two gunicorn
workers, or two machines, count against the same history. Each limit keeps the times of its
recent events (as DRF's throttles do), so "120/hour" means any sliding hour. A short lock made
with `cache.add` (atomic on both backends) keeps concurrent requests from counting past the limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LOCK_TIMEOUT_S = 5


@dataclass(frozen=True)
class Rate:
    count: int
    period_s: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """ "120/hour", "60/minute", "5/second", "1000/day" (only the unit's first letter counts)."""
        count, _, unit = text.partition("/")
        return cls(int(count), PERIODS[unit.strip()[:1].lower()])

    def describe(self) -> str:
        unit = {v: k for k, v in {"second": 1, "minute": 60, "hour": 3600, "day": 86400}.items()}
        return f"{self.count} per {unit.get(self.period_s, f'{self.period_s} s')}"


class LimitReached(Exception):
    """Over a rate limit; `wait_s` says when the next event would be allowed."""

    def __init__(self, message: str, wait_s: float):
        super().__init__(message)
        self.wait_s = wait_s


def take(scope: str, who: int | str, rate: Rate, amount: int = 1, now: float | None = None) -> None:
    """Count `amount` events of `scope` for a user (or an address), or raise LimitReached
    (counting nothing)."""
    key = f"limit:{scope}:{who}"
    with _locked(key):
        now = time.time() if now is None else now
        history = _recent(key, rate, now)
        if len(history) + amount > rate.count:
            allowed_again = history[max(0, len(history) + amount - rate.count - 1)] + rate.period_s
            wait_s = max(1.0, allowed_again - now)
            raise LimitReached(f"the limit is {rate.describe()}; try again in {_duration(wait_s)}", wait_s)
        history.extend([now] * amount)
        cache.set(key, history, rate.period_s)


def reached(scope: str, who: int | str, rate: Rate, now: float | None = None) -> bool:
    """Whether `who` has used up `rate` for `scope` (counting nothing)."""
    return len(_recent(f"limit:{scope}:{who}", rate, time.time() if now is None else now)) >= rate.count


def _recent(key: str, rate: Rate, now: float) -> list[float]:
    """The times of the events still inside the rate's period."""
    return [t for t in cache.get(key, []) if t > now - rate.period_s]


class _locked:
    """A lock around one key's read-modify-write; gives up waiting after LOCK_TIMEOUT_S."""

    def __init__(self, key: str):
        self.key = f"{key}:lock"

    def __enter__(self):
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while not cache.add(self.key, 1, LOCK_TIMEOUT_S) and time.monotonic() < deadline:
            time.sleep(0.01)

    def __exit__(self, *exc):
        cache.delete(self.key)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def take_uploads(user_id: int, files: int = 1) -> None:
    take("uploads", user_id, Rate.parse(settings.UPLOAD_RATE), files)


def take_correction(user_id: int) -> None:
    take("corrections", user_id, Rate.parse(settings.CORRECTION_RATE))


def take_live_session(user_id: int) -> None:
    take("live-sessions", user_id, Rate.parse(settings.LIVE_SESSION_RATE))


def take_live_chunks(user_id: int) -> None:
    take("live-chunks", user_id, Rate.parse(settings.LIVE_CHUNK_RATE))


def take_signup(address: str) -> None:
    """New accounts per client address: every per-user limit would otherwise multiply."""
    take("signups", address, Rate.parse(settings.SIGNUP_RATE))
