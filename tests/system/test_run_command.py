"""`make run` (classifier_site/run.py): Ctrl-C stops every process it started, so the port is
free at once and a second `make run` right after starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
import requests

from tests.conftest import ROOT, free_port
from tests.system.conftest import wait_until, worker_env

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]


def start_run(settings, port: int, log) -> subprocess.Popen:
    env = worker_env(settings, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
    return subprocess.Popen(
        [sys.executable, "-m", "classifier_site.run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()["status"] == "ready"
    except (requests.RequestException, ValueError):
        return False


def test_ctrl_c_stops_every_child_and_a_second_run_starts_right_after(settings, tmp_path):
    port = free_port()
    for attempt in range(2):
        with (tmp_path / f"run-{attempt}.log").open("wb") as log:
            run = start_run(settings, port, log)
            try:
                wait_until(lambda: ready(port), 180, f"run {attempt + 1} to be ready", every_s=0.5)
                # gunicorn with its worker, three clusters with their sentinels, pushers, workers
                tree = psutil.Process(run.pid)
                wait_until(lambda: len(tree.children(recursive=True)) >= 14, 60, "every process to start")  # noqa: B023
                children = tree.children(recursive=True)
                run.send_signal(signal.SIGINT)  # what Ctrl-C sends
                started = time.monotonic()
                assert run.wait(timeout=40) == 0
                print(
                    f"run {attempt + 1}: stopped {len(children)} processes in {time.monotonic() - started:.1f} s"
                )
                gone = lambda: not any(child.is_running() for child in children)  # noqa: B023, E731
                wait_until(gone, 5, "every child to end")
            finally:
                if run.poll() is None:
                    os.kill(run.pid, signal.SIGKILL)
                    run.wait()
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
