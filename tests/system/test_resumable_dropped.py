"""A resumable upload whose connection drops half-way through a part, through nginx and gunicorn
as deployed: the server keeps what arrived, HEAD says where it stands, and the rest completes a
clip byte-identical to the original, with nothing sent twice."""

from __future__ import annotations

import hashlib
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests
from rest_framework.authtoken.models import Token

from classify.models import Clip
from tests.audio_factory import chord, write
from tests.conftest import free_port
from tests.system.conftest import start_proxy, start_web, wait_until, worker_env

pytestmark = pytest.mark.django_db(transaction=True)
TUS = {"Tus-Resumable": "1.0.0"}


def send_half_then_drop(base: str, path: str, token: str, data: bytes) -> None:
    """A PATCH announcing the whole file, of which half is sent before the socket closes."""
    address = urlsplit(base)
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: {address.hostname}\r\nAuthorization: Token {token}\r\n"
        f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port)) as connection:
        connection.sendall(head + data[: len(data) // 2])
        time.sleep(1.0)  # the bytes reach the server, then the client vanishes


def test_a_part_cut_off_half_way_is_kept_and_the_upload_completes_from_there(
    settings, start_process, alice, tmp_path
):
    web = start_web(start_process, worker_env(settings), "--threads", "4", "--timeout", "60")
    base = start_proxy(start_process, tmp_path, web.base_url, free_port())
    token = Token.objects.create(user=alice).key
    auth = {"Authorization": f"Token {token}", **TUS}
    data = write(tmp_path / "long.wav", chord(120.0, rate=44_100), rate=44_100).read_bytes()  # 10 MB
    created = requests.post(
        f"{base}/api/uploads/", headers={**auth, "Upload-Length": str(len(data))}, timeout=30
    )
    assert created.status_code == 201, created.text
    path = urlsplit(created.headers["Location"]).path

    send_half_then_drop(base, path, token, data)
    offset = {}

    def kept() -> bool:
        offset["now"] = int(requests.head(f"{base}{path}", headers=auth, timeout=30).headers["Upload-Offset"])
        return offset["now"] > 0

    wait_until(kept, 30, "the server to keep the bytes that arrived")
    assert len(data) // 4 < offset["now"] <= len(data) // 2  # about half: what arrived, no more
    rest = requests.patch(
        f"{base}{path}",
        data=data[offset["now"] :],
        headers={
            **auth,
            "Upload-Offset": str(offset["now"]),
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=120,
    )
    assert rest.status_code == 204, rest.text
    clip = Clip.objects.get(pk=int(rest.headers["Upload-Clip-Id"]))
    assert clip.sha256 == hashlib.sha256(data).hexdigest()
    print(f"sent {len(data) // 2 + len(data) - offset['now']} bytes for a {len(data)}-byte file; "
          f"{offset['now']} kept from the dropped part")  # fmt: skip
