"""Every status change goes through classify/clips/state.py and only from the states it names."""

from __future__ import annotations

import pytest

from classify.clips import intake, state
from classify.models import Clip
from tests.conftest import FIXTURES
from tests.django_layer import as_upload, process_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def done_clip(alice, music_wav):
    clip = intake.create_clip(alice, as_upload(music_wav))
    assert process_clip(clip.pk).status == Clip.Status.DONE
    clip.refresh_from_db()
    return clip


def test_marking_a_done_clip_failed_keeps_it_done_with_its_result(done_clip):
    assert not state.fail(done_clip.pk, "Marked as failed by staff.")
    done_clip.refresh_from_db()
    assert done_clip.status == Clip.Status.DONE and done_clip.result is not None and done_clip.error == ""


def test_a_clip_being_processed_is_not_queued_again_under_its_worker(alice, music_wav):
    clip = intake.create_clip(alice, as_upload(music_wav))
    token = state.claim(clip.pk)
    assert token and not state.requeue(clip.pk)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.PROCESSING and clip.lease_token == token


def test_finishing_needs_the_lease_that_claimed_the_clip(alice, music_wav):
    import uuid

    clip = intake.create_clip(alice, as_upload(music_wav))
    token = state.claim(clip.pk)
    assert not state.finish(clip.pk, uuid.uuid4())
    assert state.finish(clip.pk, token) and not state.finish(clip.pk, token)
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.DONE


def test_a_done_clip_can_be_classified_again(done_clip):
    assert state.requeue(done_clip.pk)
    done_clip.refresh_from_db()
    assert done_clip.status == Clip.Status.QUEUED and done_clip.attempts == 0


def test_admin_says_which_clips_an_action_left_alone(admin_client, done_clip):
    response = admin_client.post(
        "/admin/classify/clip/",
        {"action": "mark_failed", "_selected_action": [done_clip.pk]},
        follow=True,
    )
    assert (
        "Marked failed 0 clip(s). 1 left as they were: this action takes only queued or processing clips."
        in (response.content.decode())
    )
    assert Clip.objects.get(pk=done_clip.pk).status == Clip.Status.DONE


def test_a_clip_is_late_when_it_waits_or_stalls_never_when_a_long_one_reports_progress(alice, alice_api):
    """Issue 27: a 3-hour file "took longer than usual" after 20 s though nothing was busy. The
    rule (classify/clips/summary.py: is_late) is the server's; the pages read `late`."""
    from datetime import timedelta

    from django.utils import timezone

    clip = intake.create_clip(alice, as_upload(FIXTURES / "speech.flac"))
    ago = timezone.now() - timedelta(seconds=60)

    def late(**fields) -> bool:
        Clip.objects.filter(pk=clip.pk).update(**fields)
        return alice_api.get(f"/api/clips/{clip.pk}/").json()["late"]

    assert not late(status="queued", queued_at=timezone.now())
    assert late(status="queued", queued_at=ago)  # nobody took it
    assert late(status="processing", started_at=ago, progress={})  # taken, and silent
    progress = {"done_s": 600, "total_s": 10800, "rate": 600, "left_s": 17, "segments": []}
    assert not late(status="processing", started_at=ago, progress=progress)  # long, not late
    assert not alice_api.get("/api/clips/").json()["results"][0]["late"]
