"""Slow clients hold the buffering proxy, not gunicorn: deploy/nginx.conf in front of gunicorn,
while connections trickle headers and bodies, other requests are answered at once."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from tests.conftest import free_port
from tests.system.conftest import start_proxy, start_web, worker_env

pytestmark = pytest.mark.django_db(transaction=True)
SLOW_CLIENTS = 16  # twice gunicorn's 2 workers x 4 threads


@pytest.fixture
def proxied(settings, start_process, tmp_path):
    web = start_web(start_process, worker_env(settings), "--threads", "4", "--timeout", "60")
    listen = free_port()
    return start_proxy(start_process, tmp_path, web.base_url, listen), listen


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


def trickle_part(port: int, token: str, location: str, stop: threading.Event, answers: list) -> None:
    """A resumable part sent a byte a second that never finishes (issue 27: eight of these from
    one account held every gunicorn thread, and /healthz timed out)."""
    path = location.split(str(port), 1)[-1]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Token {token}\r\n"
            "Tus-Resumable: 1.0.0\r\n"
            "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: 1000\r\n\r\n".encode()
        )
        connection.settimeout(1.0)
        while not stop.is_set():
            try:
                connection.sendall(b"a")
                reply = connection.recv(100)
                if reply:  # refused at the proxy: the thread was never taken
                    answers.append(reply.split(b" ")[1])
                    return
            except TimeoutError:
                continue
            except OSError:
                return


def test_slow_resumable_parts_from_one_account_cannot_take_the_web_tier(proxied, django_user_model):
    from rest_framework.authtoken.models import Token

    base, port = proxied
    user = django_user_model.objects.create_user("trickler", "t@example.com", "a-Long-and-unusual-passw0rd")
    token = Token.objects.create(user=user).key
    headers = {"Authorization": f"Token {token}", "Tus-Resumable": "1.0.0", "Upload-Length": "1000"}
    locations = [
        requests.post(f"{base}/api/uploads/", headers=headers, timeout=10).headers["Location"]
        for _ in range(8)
    ]
    assert all(location.startswith(f"{base}/api/uploads/") for location in locations)  # the port kept
    stop, answers = threading.Event(), []
    clients = [
        threading.Thread(target=trickle_part, args=(port, token, location, stop, answers), daemon=True)
        for location in locations
    ]
    for client in clients:
        client.start()
    try:
        time.sleep(3)
        started = time.monotonic()
        health = [requests.get(f"{base}/healthz", timeout=10).status_code for _ in range(5)]
        elapsed_s = time.monotonic() - started
    finally:
        stop.set()
    assert health == [200] * 5 and elapsed_s < 3, (health, elapsed_s)
    assert answers.count(b"429") >= 6, answers  # two parts at a time per client
