"""Progress lines of long runs, timestamped; classify/ reads them from a training child process."""

from __future__ import annotations

import time


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)
