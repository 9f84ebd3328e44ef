"""/readyz against a real S3 server whose bucket goes away."""

from __future__ import annotations

import pytest

from classify.infra import health, heartbeat

pytestmark = pytest.mark.django_db
MONITOR = "Bearer tests-health-token"  # HEALTH_TOKEN in tests/settings.py


def test_readyz_reports_a_storage_that_refuses_writes_without_details(client, s3_bucket):
    heartbeat.beat()
    assert client.get("/readyz", HTTP_AUTHORIZATION=MONITOR).status_code == 200
    s3_bucket.delete_bucket(Bucket=s3_bucket.name)
    health._storage_checked = (-health.STORAGE_CHECK_EVERY_S, None)  # the next probe checks again
    response = client.get("/readyz", HTTP_AUTHORIZATION=MONITOR)
    assert response.status_code == 503
    storage_check = response.json()["checks"]["storage"]
    assert storage_check["ok"] is False and "NoSuchBucket" not in storage_check["detail"]
