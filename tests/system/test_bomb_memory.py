"""A decode bomb (a small file of many channels at a very high rate) through the real path: the
web process checks it and the worker classifies it, each within a stated memory bound."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import soundfile

from classify.models import Clip
from tests.django_layer import as_upload
from tests.system.conftest import wait_until

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]
# Held whole at its own rate the bomb below is 490 MB of float32 (more in the copies made while
# mixing down and resampling); decoded block by block it is 2.5 MB at 16 kHz mono.
BOUND_MB = 150


def peak_mb(pid: int) -> float:
    """A process's own peak resident memory (VmHWM), in MB."""
    return int(re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())[1]) / 1024


def bomb(path: Path, seconds: int = 40, rate: int = 384_000, channels: int = 8) -> Path:
    with soundfile.SoundFile(str(path), "w", rate, channels, format="FLAC") as out:
        for second in range(seconds):
            t = (np.arange(rate) + second * rate) / rate
            tone = (0.2 * np.sin(2 * np.pi * 440 * t) * (1 + (second % 3))).astype(np.float32) / 3
            out.write(np.repeat(tone[:, None], channels, axis=1))
    return path


def test_a_decode_bomb_costs_the_worker_no_more_than_the_bound(qcluster, alice_api, tmp_path):
    wait_until(lambda: "loaded model" in qcluster.log_path.read_text(), 120, "the worker to load its model")
    workers = [p for p in psutil.Process(qcluster.pid).children(recursive=True) if p.is_running()]
    before = {p.pid: peak_mb(p.pid) for p in workers}

    response = alice_api.post(
        "/api/clips/",
        {"file": as_upload(bomb(tmp_path / "bomb.flac"), content_type="audio/flac")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    clip = Clip.objects.filter(pk=response.json()["id"])
    deadline = time.monotonic() + 180
    while clip.get().status in ("queued", "processing") and time.monotonic() < deadline:
        assert qcluster.poll() is None, qcluster.log_path.read_text()[-2000:]
        time.sleep(0.3)
    assert clip.get().status == "done", clip.get().error
    grown = {pid: peak_mb(pid) - mb for pid, mb in before.items() if psutil.pid_exists(pid)}
    print("worker peak growth (MB):", grown)
    assert max(grown.values()) < BOUND_MB, grown


def test_live_chunk_bombs_cost_the_web_process_no_more_than_the_bound(settings, start_process, alice):
    """Through gunicorn: bodies of 300 MB, many-channel chunks and eight largest valid chunks at
    once. Each is refused or taken within what a valid chunk can cost."""
    import io
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from rest_framework.authtoken.models import Token

    from tests.system.conftest import start_web, worker_env

    web = start_web(start_process, worker_env(settings, LIVE_WAIT_MS="0"), "--threads", "4")
    token = Token.objects.create(user=alice).key
    headers = {"Authorization": f"Token {token}", "Content-Type": "audio/wav"}
    workers = [p for p in psutil.Process(web.pid).children(recursive=True) if p.is_running()]
    before = {p.pid: peak_mb(p.pid) for p in workers}

    def session() -> str:
        return requests.post(
            f"{web.base_url}/api/live/", headers={"Authorization": f"Token {token}"}, timeout=30
        ).json()["id"]

    def wav(seconds: float, rate: int, channels: int) -> bytes:
        buffer = io.BytesIO()
        samples = np.zeros((int(seconds * rate), channels), np.float32) + 0.1
        soundfile.write(buffer, samples, rate, format="WAV", subtype="FLOAT")
        return buffer.getvalue()

    def chunk(body) -> int:
        url = f"{web.base_url}/api/live/{session()}/chunks/"
        return requests.post(url, data=body, headers=headers, timeout=60).status_code

    def huge_chunk(megabytes: int = 300) -> int:
        """A body of `megabytes` MB, sent with its Content-Length and never held by this test."""
        import http.client
        from urllib.parse import urlsplit

        address = urlsplit(web.base_url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        connection.putrequest("POST", f"/api/live/{session()}/chunks/")
        for name, value in {**headers, "Content-Length": str(megabytes << 20)}.items():
            connection.putheader(name, value)
        connection.endheaders()
        try:
            for _ in range(megabytes):
                connection.send(b"\0" * (1 << 20))
        except OSError:  # the server answered and closed before the rest was sent
            pass
        status = connection.getresponse().status
        connection.close()
        return status

    statuses = [huge_chunk(), chunk(wav(0.1, 384_000, 8))]
    with ThreadPoolExecutor(8) as pool:
        statuses += list(pool.map(chunk, [wav(5.0, 48_000, 2)] * 8))
    assert statuses[:2] == [413, 400] and all(s in (200, 409) for s in statuses[2:]), statuses
    grown = {pid: peak_mb(pid) - mb for pid, mb in before.items() if psutil.pid_exists(pid)}
    print("web peak growth (MB):", grown)
    assert max(grown.values()) < BOUND_MB, grown
