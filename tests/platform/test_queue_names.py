"""Every task is sent to its own queue by name, whichever cluster's process sends it: a live or
training worker's keeper that sends a lost clip again sends it to the clips' queue (issue 27: six-
hour clips ran on the live worker), and asks the clips' queue how full it is."""

from __future__ import annotations

import pytest
from django.db import transaction
from django_q.conf import Conf
from django_q.models import OrmQ

from classify.clips import intake, state
from classify.infra import queue
from tests.conftest import FIXTURES
from tests.django_layer import as_upload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("cluster", ["LIVE_QUEUE", "TRAINING_QUEUE"])
def test_a_clip_sent_from_a_live_or_training_worker_goes_to_the_clips_queue(
    alice, settings, monkeypatch, django_capture_on_commit_callbacks, cluster
):
    settings.CLASSIFY_SYNC = False
    monkeypatch.setattr(Conf, "CLUSTER_NAME", getattr(settings, cluster))  # as in that worker's process
    queue.broker.cache_clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        clip = intake.create_clip(alice, as_upload(FIXTURES / "speech.flac"))
    OrmQ.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        state.send(clip.pk)  # what requeue_lost does for a clip that waited too long
    assert list(OrmQ.objects.values_list("key", flat=True)) == [settings.Q_CLUSTER["name"]]
    assert queue.broker().list_key == settings.Q_CLUSTER["name"] and queue.broker().queue_size() == 1
    queue.broker.cache_clear()


def test_a_long_recording_waits_on_the_long_clips_queue_and_a_short_one_on_the_clips(
    alice, settings, django_capture_on_commit_callbacks, tmp_path
):
    """Long recordings have a worker of their own (settings.LONG_CLIP_S), so a short clip never
    waits behind them; each queue's lost tasks are judged by that queue's own state."""
    from tests.audio_factory import chord, write

    settings.CLASSIFY_SYNC = False
    settings.LONG_CLIP_S = 5
    queue.broker.cache_clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        short = intake.create_clip(alice, as_upload(FIXTURES / "speech.flac"))  # 3 s
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        long = intake.create_clip(alice, as_upload(write(tmp_path / "long.wav", chord(8.0))))
    keys = sorted(OrmQ.objects.values_list("key", flat=True))
    assert keys == sorted([settings.Q_CLUSTER["name"], settings.LONG_QUEUE])
    assert state.clip_queue(short.duration_s) == settings.Q_CLUSTER["name"]
    assert state.clip_queue(long.duration_s) == settings.LONG_QUEUE
    queue.broker.cache_clear()
