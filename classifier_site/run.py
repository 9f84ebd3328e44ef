"""Run the whole platform on this machine: database, migrations, web server and the workers.

    python -m classifier_site.run        # what `make run` calls

Uses DATABASE_URL when set, else the embedded PostgreSQL (classifier_site/embedded_db.py).
Makes a SECRET_KEY in var/secret_key on first run unless one is set. Serves on BIND
(127.0.0.1:8000) the way production does: nginx with deploy/nginx.conf in front of gunicorn (the
pages and API, WEB_CONCURRENCY workers x 4 threads) and the events server (gunicorn's ASGI worker,
which holds the pages' event streams on one event loop), both on sockets in var/run. Without nginx
(`make run` installs it) gunicorn serves BIND itself and pages poll once its few stream threads
are taken. Starts four django-q2 clusters: clips (Q_WORKERS workers, 1),
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

from classifier_site import proxy
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
    qcluster = [PYTHON, str(ROOT / "manage.py"), "qcluster"]
    children = [
        *start_web(bind),
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


def start_web(bind: str) -> list[subprocess.Popen]:
    """nginx on `bind` in front of the web and events servers (on sockets), else gunicorn alone."""
    gunicorn = [PYTHON, "-m", "gunicorn", "--graceful-timeout", "10", "--access-logfile", "-"]
    web = [
        *gunicorn,
        "classifier_site.wsgi",
        "--workers",
        os.environ.get("WEB_CONCURRENCY", "2"),
        "--threads",
        "4",
    ]
    run_dir = ROOT / "var" / "run"
    nginx = proxy.command(run_dir / "nginx.conf")
    if nginx is None:
        print("nginx is not installed: gunicorn serves the pages alone (`make proxy-packages`)", flush=True)
        return [start([*web, "--bind", bind])]
    sockets = {name: run_dir / f"{name}.sock" for name in ("web", "events")}
    for path in sockets.values():
        path.unlink(missing_ok=True)
    proxy.write_config(run_dir, str(sockets["web"]), str(sockets["events"]), bind)
    events = [
        *gunicorn,
        "classifier_site.asgi",
        "-k",
        "asgi",
        "--workers",
        os.environ.get("EVENTS_CONCURRENCY", "1"),
    ]
    behind_nginx = {"TRUSTED_PROXY_COUNT": os.environ.get("TRUSTED_PROXY_COUNT", "1")}
    return [
        start([*web, "--bind", f"unix:{sockets['web']}"], **behind_nginx),
        start(
            [*events, "--bind", f"unix:{sockets['events']}", "--worker-connections", "5000"],
            **behind_nginx,
            DB_POOL_MAX=os.environ.get("DB_POOL_MAX", "10"),  # bounded connections for its streams
        ),
        start(nginx),
    ]


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
