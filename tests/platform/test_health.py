"""/healthz and /readyz: JSON, no login, no data, answered whatever the Host or scheme; /readyz
is 503 until the database, broker, a worker's heartbeat and the storage are all fine."""

from __future__ import annotations

import pytest

from classify.infra import heartbeat

pytestmark = pytest.mark.django_db


def test_healthz_answers_anyone_on_any_host(client):
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "sessionid" not in response.cookies and response["Cache-Control"] == "no-store"


def test_readyz_waits_for_a_worker_heartbeat(client):
    from django.core.cache import cache

    cache.delete(heartbeat.HEARTBEAT_KEY)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["worker"] == {
        "ok": False,
        "detail": "no worker has reported yet",
        "ms": pytest.approx(0, abs=500),
    }
    assert all(body["checks"][name]["ok"] for name in ("database", "broker", "storage"))

    heartbeat.beat()
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "ready"


def test_readyz_is_not_ready_with_an_old_heartbeat(client):
    import time

    from django.core.cache import cache

    cache.set(heartbeat.HEARTBEAT_KEY, time.time() - 120, timeout=None)
    body = client.get("/readyz").json()
    assert body["checks"]["worker"]["ok"] is False and "120 s old" in body["checks"]["worker"]["detail"]


def test_probes_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/", follow=False).status_code == 301
