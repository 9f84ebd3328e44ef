"""Slow clients hold the buffering proxy, not gunicorn: deploy/nginx.conf in front of gunicorn,
while connections trickle headers and bodies, other requests are answered at once."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import pytest
import requests

from tests.conftest import ROOT, free_port
from tests.system.conftest import start_web, wait_until_healthy, worker_env

pytestmark = pytest.mark.django_db(transaction=True)
SLOW_CLIENTS = 16  # twice gunicorn's 2 workers x 4 threads


@pytest.fixture
def proxied(settings, start_process, tmp_path):
    if shutil.which("nginx") is None:
        pytest.fail("nginx is needed (Debian's nginx-light; .ci/run installs it)")
    web = start_web(start_process, worker_env(settings), "--threads", "4", "--timeout", "60")
    listen = free_port()
    run_dir = tmp_path / "nginx"
    run_dir.mkdir()
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    for name, value in {
        "RUN_DIR": run_dir,
        "UPSTREAM": web.base_url.removeprefix("http://"),
        "LISTEN": f"127.0.0.1:{listen}",
    }.items():
        config = config.replace(f"@{name}@", str(value))
    (run_dir / "nginx.conf").write_text(config)
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    start_process("nginx", ["nginx", "-c", str(run_dir / "nginx.conf"), "-g", directives], dict(os.environ))
    base = f"http://127.0.0.1:{listen}"
    wait_until_healthy(base, 30, "nginx")
    return base, listen


def trickle(port: int, stop: threading.Event, body: bool) -> None:
    """A client that sends its request a byte a second and never finishes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        if body:
            connection.sendall(b"POST /api/clips/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        else:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        while not stop.is_set():
            try:
                connection.sendall(b"a" if body else b"X-Slow: 1\r\n"[:1])
            except OSError:
                return
            stop.wait(1.0)


def test_requests_are_answered_while_slow_clients_trickle_through_the_proxy(proxied):
    base, port = proxied
    stop = threading.Event()
    clients = [
        threading.Thread(target=trickle, args=(port, stop, n % 2 == 0), daemon=True)
        for n in range(SLOW_CLIENTS)
    ]
    for client in clients:
        client.start()
    try:
        time.sleep(3)  # every slow client is connected and trickling
        started = time.monotonic()
        answers = [requests.get(f"{base}/healthz", timeout=10).status_code for _ in range(5)]
        elapsed_s = time.monotonic() - started
    finally:
        stop.set()
    assert answers == [200] * 5 and elapsed_s < 3, (answers, elapsed_s)
