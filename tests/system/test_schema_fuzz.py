"""A bounded schema fuzz of the live API: schemathesis generates requests from /api/schema/ (with
a real token) and fails on any 5xx, or any response the schema does not describe."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from classify.clips import intake
from classify.models import LiveSession
from tests.audio_factory import chord, write
from tests.django_layer import as_upload

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]
FUZZ_SECONDS = 100
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_the_api_answers_every_generated_request_without_a_server_error_and_as_documented(
    live_server, django_user_model, tmp_path, settings
):
    # One user sending thousands of requests: its live sessions are not to be cut by the rate a
    # person meets (LIVE_SESSION_RATE), or the generated chunks would find none open.
    settings.LIVE_SESSION_RATE = "100000/hour"
    # Event streams end within a second or two, so each generated request to one gets its whole
    # answer (a stream held for minutes would only time the fuzzer out).
    settings.EVENT_STREAM_MAX_S, settings.EVENT_KEEPALIVE_S = 1, 1
    fuzzer = django_user_model.objects.create_user("fuzzer", password="a-Long-and-unusual-passw0rd")
    token = Token.objects.create(user=fuzzer)
    # A real clip of the fuzzer's, classified (the worker runs in-process here); the hooks hand it,
    # and live sessions they open through the API, to generated requests.
    clip = intake.create_clip(fuzzer, as_upload(write(tmp_path / "tune.wav", chord(4.0))))
    command = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    result = subprocess.run(
        [
            command,
            "run",
            f"{live_server.url}/api/schema/",
            "--header",
            f"Authorization: Token {token.key}",
            "--checks",
            CHECKS,
            "--max-time",
            str(FUZZ_SECONDS),
            "--max-examples",
            "60",
            "--seed",
            "20261126",
            "--workers",
            "1",
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS + 60,
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": str(Path(__file__).resolve().parents[1] / "schemathesis_hooks.py"),
            "FUZZ_CLIP_ID": str(clip.pk),
            "FUZZ_BASE_URL": live_server.url,
            "FUZZ_TOKEN": token.key,
        },
    )
    report = Path(__file__).resolve().parents[1] / "artifacts" / "schemathesis.txt"
    report.parent.mkdir(exist_ok=True)
    report.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f"see {report}\n" + result.stdout[-3000:]
    # Generated chunks and finishes reached real open sessions (so their checks ran, not a 404).
    reached = LiveSession.objects.filter(owner=fuzzer).exclude(status="expired", received_s=0)
    assert LiveSession.objects.filter(owner=fuzzer).count() > 10 and reached.exists()
