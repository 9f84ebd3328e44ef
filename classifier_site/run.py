"""Run the whole platform on this machine: database, migrations, web server and one worker.

    python -m classifier_site.run        # what `make run` calls

Uses DATABASE_URL when set, else the embedded PostgreSQL (classifier_site/embedded_db.py).
Makes a SECRET_KEY in var/secret_key on first run unless one is set. Serves on BIND
(127.0.0.1:8000) with gunicorn and starts a django-q2 cluster of Q_WORKERS workers (1), each of
which loads the model as it starts (classify/apps.py).
Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from classifier_site.embedded_db import ensure_database

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


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
    children = [
        subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "classifier_site.wsgi",
                "--bind",
                bind,
                "--workers",
                os.environ.get("WEB_CONCURRENCY", "2"),
                "--threads",
                "4",
                "--access-logfile",
                "-",
            ],
            cwd=ROOT,
        ),
        subprocess.Popen([PYTHON, str(ROOT / "manage.py"), "qcluster"], cwd=ROOT),
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
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
