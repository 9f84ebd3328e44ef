"""/readyz against a real S3 server whose bucket goes away."""

from __future__ import annotations

import pytest

from classify.infra import heartbeat

pytestmark = pytest.mark.django_db


def test_readyz_reports_a_storage_that_refuses_writes_without_details(client, s3_bucket):
    heartbeat.beat()
    assert client.get("/readyz").status_code == 200
    s3_bucket.delete_bucket(Bucket=s3_bucket.name)
    response = client.get("/readyz")
    assert response.status_code == 503
    storage_check = response.json()["checks"]["storage"]
    assert storage_check["ok"] is False and "NoSuchBucket" not in storage_check["detail"]
