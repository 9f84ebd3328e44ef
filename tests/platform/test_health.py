"""/healthz and /readyz: JSON, no login, no data, answered whatever the Host or scheme; /readyz
is 503 ("starting") until a worker has loaded its model, 503 until the database, broker, a worker's
heartbeat and the storage are all fine, and "degraded" (200) while clips wait too long or no live
worker reports."""

from __future__ import annotations

import pytest

from classify.infra import heartbeat

pytestmark = pytest.mark.django_db
MONITOR = "Bearer tests-health-token"  # HEALTH_TOKEN in tests/settings.py


def beat_all() -> None:
    heartbeat.beat(model_version="test-model")
    heartbeat.beat("classify-live", "test-model")
    heartbeat.beat("classify-long", "test-model")


def test_healthz_answers_anyone_on_any_host(client):
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "sessionid" not in response.cookies and response["Cache-Control"] == "no-store"


def test_readyz_says_starting_until_a_worker_has_loaded_its_model(client):
    from django.core.cache import cache

    cache.delete(heartbeat.HEARTBEAT_KEY)
    response = client.get("/readyz", HTTP_AUTHORIZATION=MONITOR)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "starting"
    assert body["checks"]["worker"] == {
        "ok": False,
        "detail": "no worker has loaded its model and reported yet",
        "ms": pytest.approx(0, abs=500),
        "starting": True,
    }
    assert all(body["checks"][name]["ok"] for name in ("database", "broker", "storage"))

    beat_all()
    response = client.get("/readyz", HTTP_AUTHORIZATION=MONITOR)
    assert response.status_code == 200 and response.json()["status"] == "ready"
    assert "model test-model" in response.json()["checks"]["worker"]["detail"]


def test_readyz_is_degraded_while_the_oldest_clip_waits_too_long(client, settings, alice):
    from datetime import timedelta

    from django.utils import timezone

    from classify.models import Clip

    beat_all()
    settings.READY_QUEUE_AGE_MAX_S = 60
    clip = Clip.objects.create(owner=alice, file="x.wav", original_filename="x.wav", size_bytes=1)
    Clip.objects.filter(pk=clip.pk).update(queued_at=timezone.now() - timedelta(seconds=30))
    assert client.get("/readyz").json() == {"status": "ready"}
    Clip.objects.filter(pk=clip.pk).update(queued_at=timezone.now() - timedelta(seconds=90))
    response = client.get("/readyz", HTTP_AUTHORIZATION=MONITOR)
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert response.json()["checks"]["queue_age"]["detail"] == "the oldest queued clip has waited 90 s"


def test_readyz_is_degraded_without_a_live_worker(client):
    from django.core.cache import cache

    beat_all()
    cache.delete(heartbeat.HEARTBEAT_KEY + ":classify-live")
    response = client.get("/readyz", HTTP_AUTHORIZATION=MONITOR)
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert response.json()["checks"]["live_worker"]["ok"] is False


def test_readyz_is_not_ready_with_an_old_heartbeat(client, monkeypatch):
    import time

    from django.core.cache import cache

    from classify.infra import health

    monkeypatch.setattr(health, "STARTED_AT", time.monotonic() - 3600)  # up for an hour
    cache.set(heartbeat.HEARTBEAT_KEY, time.time() - 120, timeout=None)
    body = client.get("/readyz", HTTP_AUTHORIZATION=MONITOR).json()
    assert body["status"] == "not ready"
    assert body["checks"]["worker"]["ok"] is False and "120 s old" in body["checks"]["worker"]["detail"]


def test_readyz_says_starting_not_not_ready_with_the_last_runs_heartbeat_and_logs_no_error(
    client, monkeypatch, caplog
):
    """Issue 27: for the first moments of every start /readyz answered 503 "not ready", with
    ERROR lines, where "starting" was meant: the heartbeat it saw was the last run's."""
    import logging
    import time

    from django.core.cache import cache

    from classify.infra import health

    monkeypatch.setattr(health, "STARTED_AT", time.monotonic() - 5)  # this process began 5 s ago
    cache.set(heartbeat.HEARTBEAT_KEY, time.time() - 600, timeout=None)  # the last run's beat
    with caplog.at_level(logging.INFO):
        response = client.get("/readyz", HTTP_AUTHORIZATION=MONITOR)
    assert response.status_code == 503 and response.json()["status"] == "starting"
    assert "from before" in response.json()["checks"]["worker"]["detail"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_probes_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/", follow=False).status_code == 301


def test_readyz_tells_anonymous_callers_only_ready_or_not(client):
    beat_all()
    assert client.get("/readyz").json() == {"status": "ready"}
    assert client.get("/readyz", HTTP_AUTHORIZATION="Bearer wrong").json() == {"status": "ready"}
    assert set(client.get("/readyz", HTTP_AUTHORIZATION=MONITOR).json()["checks"]) == {
        "database", "broker", "worker", "storage", "queue_age", "live_worker", "long_worker"
    }  # fmt: skip


def test_the_storage_probe_writes_at_most_every_few_seconds(client):
    from classify.infra import health

    health._storage_checked = (-health.STORAGE_CHECK_EVERY_S, None)
    beat_all()
    client.get("/readyz")
    probed_at = health._storage_checked[0]
    for _ in range(20):
        assert client.get("/readyz").status_code == 200
    assert health._storage_checked[0] == probed_at  # twenty probes, one storage round trip
