"""GET /api/clips/events/: each change of a clip reaches its owner's stream as the API's JSON, in
order, resumable with Last-Event-ID; nobody else's stream hears it. (The threaded form of the
stream here; the ASGI events server's is tested through the real processes in tests/system.)"""

from __future__ import annotations

import pytest
from django.db import transaction

from classify.clips import intake, state
from classify.events.feed import Event, read_frames
from classify.events.hub import hub
from classify.models import Clip
from tests.django_layer import as_upload, process_clip

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def quick_streams(settings):
    settings.EVENT_KEEPALIVE_S = 1  # a missing event shows as keep-alives, not a hang
    settings.CLASSIFY_SYNC = False  # the test moves each clip itself; tasks wait in the ORM queue


class Events:
    """The frames of one open stream, read as they come."""

    def __init__(self, response):
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/event-stream")
        assert response["X-Accel-Buffering"] == "no"
        self.response = response
        self.frames = read_frames(response.streaming_content)
        self.skipped: list[Event] = []

    def next(self, kind: str = "clip", keepalives: int = 5) -> dict:
        """The next event of `kind`'s data and id (others skipped), failing after `keepalives`
        idle comments."""
        idle = 0
        for frame in self.frames:
            if frame.event == "":
                idle += 1
                assert idle <= keepalives, f"no {kind} event"
            elif frame.event == kind:
                return {"event_id": frame.id, **frame.data}
            else:
                self.skipped.append(frame)
        raise AssertionError("the stream ended")

    def close(self):
        self.response.close()


def open_stream(api, query: str = "", **headers) -> Events:
    return Events(api.get("/api/clips/events/" + query, HTTP_ACCEPT="text/event-stream", **headers))


def upload(owner, path) -> Clip:
    with transaction.atomic():
        return intake.create_clip(owner, as_upload(path))


def test_the_stream_sends_status_progress_and_result_in_order_as_the_api_returns_them(
    alice, alice_api, music_wav
):
    events = open_stream(alice_api)
    assert events.next("ready")["resumed_after"] is None
    clip = upload(alice, music_wav)
    queued = events.next()
    assert (queued["id"], queued["status"], queued["filename"]) == (clip.pk, "queued", music_wav.name)

    token = state.claim(clip.pk)
    assert events.next()["status"] == "processing"
    state.report_progress(
        clip.pk, token, {"done_s": 1.0, "total_s": 4.0, "rate": 50.0, "left_s": 0.1, "segments": []}
    )
    progressed = events.next()
    assert progressed["status"] == "processing" and progressed["progress"]["done_s"] == 1.0

    state.release(clip.pk, token, "Test: handed back.")
    assert events.next()["status"] == "queued"
    assert process_clip(clip.pk).status == Clip.Status.DONE
    done = events.next()
    while done["status"] != "done":
        done = events.next()
    assert done == {"event_id": done["event_id"], **alice_api.get(f"/api/clips/{clip.pk}/").json()}
    assert done["label"] == "music"
    assert queued["event_id"] < progressed["event_id"] < done["event_id"]
    events.close()


def test_a_client_that_reconnects_with_last_event_id_gets_what_changed_meanwhile(alice, alice_api, music_wav):
    first = upload(alice, music_wav)
    events = open_stream(alice_api)
    ready = events.next("ready")["event_id"]
    events.close()
    second = upload(alice, music_wav)
    state.fail(first.pk, "Test: failed while nobody watched.")

    resumed = open_stream(alice_api, HTTP_LAST_EVENT_ID=str(ready))
    assert resumed.next("ready")["resumed_after"] == ready
    caught_up = [resumed.next(), resumed.next()]
    assert [(c["id"], c["status"]) for c in caught_up] == [(second.pk, "queued"), (first.pk, "failed")]
    assert ready < caught_up[0]["event_id"] < caught_up[1]["event_id"]
    resumed.close()


def test_a_new_stream_opens_with_the_clips_still_waiting_or_working(alice, alice_api, music_wav):
    done = upload(alice, music_wav)
    assert process_clip(done.pk).status == Clip.Status.DONE
    waiting = upload(alice, music_wav)
    events = open_stream(alice_api)
    events.next("ready")
    opening = events.next()
    assert (opening["id"], opening["status"]) == (waiting.pk, "queued")
    with pytest.raises(AssertionError, match="no clip event"):  # the finished one is not owed
        events.next("clip", keepalives=1)
    events.close()


def test_one_clips_stream_opens_with_its_state_and_hears_its_deletion(alice, alice_api, music_wav):
    other = upload(alice, music_wav)
    clip = upload(alice, music_wav)
    events = open_stream(alice_api, f"?clip={clip.pk}")
    events.next("ready")
    assert (events.next()["id"], events.skipped) == (clip.pk, [])
    state.fail(other.pk, "Test: another clip.")  # not this stream's
    assert alice_api.delete(f"/api/clips/{clip.pk}/").status_code == 204
    assert events.next("deleted") == {"event_id": None, "id": clip.pk}
    assert [e for e in events.skipped if e.event == "clip"] == []
    events.close()


def test_nobody_hears_or_opens_another_users_clips(alice, bob, alice_api, bob_api, music_wav, client):
    clip = upload(alice, music_wav)
    assert (
        bob_api.get(f"/api/clips/events/?clip={clip.pk}", HTTP_ACCEPT="text/event-stream").status_code == 404
    )
    assert client.get("/api/clips/events/", HTTP_ACCEPT="text/event-stream").status_code in (401, 403)
    bobs = open_stream(bob_api)
    bobs.next("ready")
    state.fail(clip.pk, "Test: alice's clip changes.")
    with pytest.raises(AssertionError, match="no clip event"):
        bobs.next("clip", keepalives=2)
    bobs.close()


def test_malformed_stream_requests_are_refused_with_a_reason(alice_api):
    for query, headers in (("?clip=abc", {}), ("", {"HTTP_LAST_EVENT_ID": "12; DROP"})):
        response = alice_api.get("/api/clips/events/" + query, HTTP_ACCEPT="text/event-stream", **headers)
        assert response.status_code == 400
        assert "whole number" in response.content.decode()


def test_streams_that_would_each_hold_a_thread_are_capped_and_the_rest_told_to_poll(settings, alice_api):
    settings.EVENT_STREAMS_THREADED = 1
    held = open_stream(alice_api)
    held.next("ready")
    refused = alice_api.get("/api/clips/events/", HTTP_ACCEPT="text/event-stream")
    assert refused.status_code == 503 and "poll" in refused.content.decode()
    held.close()
    assert hub.count() == 0


def test_a_waiting_clip_is_sent_again_when_it_turns_late_though_nothing_changed(
    alice, alice_api, music_wav, monkeypatch
):
    """Lateness comes with time, not with a change in the database: the stream sends the clip
    again at the moment it turns late (and asks the database only then)."""
    import time

    from classify.clips import summary

    monkeypatch.setattr(summary, "LATE_AFTER_S", 2.0)
    clip = upload(alice, music_wav)
    events = open_stream(alice_api, f"?clip={clip.pk}")
    assert events.next()["late"] is False
    turned = events.next(keepalives=1)  # before the keep-alive (1 s here) comes twice
    assert (turned["id"], turned["late"], turned["event_id"]) == (clip.pk, True, None)
    waited_s = time.time() - Clip.objects.get(pk=clip.pk).queued_at.timestamp()
    assert 2.0 <= waited_s < 3.5
    events.close()
