"""Run the whole platform on this machine: database, migrations, web server and the workers.

    python -m classifier_site.run        # what `make run` calls

Uses DATABASE_URL when set, else the embedded PostgreSQL (classifier_site/embedded_db.py).
Makes a SECRET_KEY in var/secret_key on first run unless one is set. Serves on BIND
(127.0.0.1:8000) with gunicorn and starts four django-q2 clusters: clips (Q_WORKERS workers, 1),
long recordings (Q_LONG_WORKERS, 1, niced), live windows (Q_LIVE_WORKERS, 1, niced more) and
training (one worker, niced most), so neither a long recording, a live flood nor a training run
holds up anyone's short clip (classifier_site/queues.py); each classifying worker loads the model
as it starts.

Ctrl-C stops everything: each child runs in a process group of its own, gets SIGTERM, and
whatever of a group is left after STOP_GRACE_S is killed, so the port is free when this exits.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from classifier_site.embedded_db import ensure_database
from classifier_site.queues import (
    LIVE_NICENESS,
    LIVE_QUEUE,
    LONG_NICENESS,
    LONG_QUEUE,
    TRAINING_NICENESS,
    TRAINING_QUEUE,
)

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# gunicorn's own graceful timeout is set below this, qcluster's stop grace (8 s) too.
STOP_GRACE_S = 20


def ensure_secret_key() -> None:
    if os.environ.get("SECRET_KEY"):
        return
    key_file = ROOT / "var" / "secret_key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    os.environ["SECRET_KEY"] = key_file.read_text().strip()


def manage(*args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classifier_site.settings")
    os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / "var" / "numba-cache"))
    server = ensure_database()  # noqa: F841  (the embedded server lives as long as this process)
    ensure_secret_key()
    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput", "--verbosity", "0")
    manage("schedule_sweeper")
    bind = os.environ.get("BIND", "127.0.0.1:8000")
    gunicorn = [
        *(PYTHON, "-m", "gunicorn", "classifier_site.wsgi", "--bind", bind),
        *("--workers", os.environ.get("WEB_CONCURRENCY", "2"), "--threads", "4"),
        *("--graceful-timeout", "10", "--access-logfile", "-"),
    ]
    qcluster = [PYTHON, str(ROOT / "manage.py"), "qcluster"]
    children = [
        start(gunicorn),
        start(qcluster),
        start(["nice", "-n", str(LONG_NICENESS), *qcluster], Q_CLUSTER_NAME=LONG_QUEUE),
        start(["nice", "-n", str(LIVE_NICENESS), *qcluster], Q_CLUSTER_NAME=LIVE_QUEUE),
        start(["nice", "-n", str(TRAINING_NICENESS), *qcluster], Q_CLUSTER_NAME=TRAINING_QUEUE),
    ]
    print(f"\n  Audio classifier: http://{bind}/  (Ctrl-C to stop)\n", flush=True)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.5)
    stop_all(children)
    return 0 if stopping else 1


def start(command: list[str], **environment: str) -> subprocess.Popen:
    """A child in a process group of its own (Ctrl-C reaches this process only, which stops
    the children in order)."""
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **environment}, start_new_session=True)


def stop_all(children: list[subprocess.Popen]) -> None:
    """SIGTERM to each child's group, then SIGKILL to every group still there after STOP_GRACE_S."""
    for child in children:
        signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
    for child in children:
        signal_group(child, signal.SIGKILL)  # stragglers of a group whose leader already left
        child.wait()


def signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


if __name__ == "__main__":
    sys.exit(main())
