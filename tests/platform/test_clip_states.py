"""Every status change goes through classify/clips/state.py and only from the states it names."""

from __future__ import annotations

import pytest

from classify.clips import intake, state
from classify.models import Clip
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
