"""The broker failing after an upload's row is committed: the client still gets its 201 and the
clip waits, queued, with its file, for the keepers to send its task again."""

from __future__ import annotations

import pytest
from django.db import connection

from classify.clips import state
from classify.models import Clip
from tests.django_layer import as_upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_down(settings):
    """django-q2's ORM broker loses its table (as a Redis broker loses its server)."""
    settings.CLASSIFY_SYNC = False
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE django_q_ormq RENAME TO django_q_ormq_away")
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE django_q_ormq_away RENAME TO django_q_ormq")


def test_an_upload_survives_a_broker_outage_and_is_sent_again_later(
    alice_api, music_wav, broker_down, settings
):
    response = alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart")
    assert response.status_code == 201, response.content
    clip = Clip.objects.get(pk=response.json()["id"])
    assert clip.status == Clip.Status.QUEUED and clip.file.storage.exists(clip.file.name)

    with connection.cursor() as cursor:  # the broker is back
        cursor.execute("ALTER TABLE django_q_ormq_away RENAME TO django_q_ormq")
    from datetime import timedelta

    from django.utils import timezone

    later = timezone.now() + timedelta(seconds=settings.CLASSIFY_REQUEUE_AFTER_S + 1)
    assert state.requeue_lost(now=later) == [clip.pk]
    from django_q.models import OrmQ

    assert OrmQ.objects.count() == 1  # its task is in the queue now
    with connection.cursor() as cursor:  # for the fixture's clean-up
        cursor.execute("ALTER TABLE django_q_ormq RENAME TO django_q_ormq_away")
