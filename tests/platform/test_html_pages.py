"""The HTML side: landing, history, upload of one or several files, the clip page, delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from classify.models import Clip
from tests.django_layer import as_upload

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_see_the_landing_page(client):
    page = client.get("/").content.decode()
    assert "music" in page and "/accounts/login/" in page


def test_uploading_several_files_classifies_each(
    alice_browser, music_wav, noise_flac, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_browser.post(
            "/clips/upload/", {"files": [as_upload(music_wav), as_upload(noise_flac)]}
        )
    assert response.status_code == 302
    assert sorted(Clip.objects.values_list("status", flat=True)) == ["done", "done"]
    history = alice_browser.get("/").content.decode()
    assert "tune.wav" in history and "hiss.flac" in history


def test_the_clip_page_shows_label_probabilities_timeline_and_player(
    alice_browser, music_wav, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_browser.post("/clips/upload/", {"files": [as_upload(music_wav)]})
    clip = Clip.objects.get()
    assert response["Location"] == f"/clips/{clip.pk}/"
    page = alice_browser.get(response["Location"]).content.decode()
    assert f"data-label>{clip.result.label}<" in page
    assert 'class="seg ' in page and f"/clips/{clip.pk}/audio/" in page
    assert clip.result.model_version in page


def test_a_bad_file_in_the_upload_form_is_explained_and_not_stored(alice_browser, tmp_path):
    fake = tmp_path / "song.mp3"
    fake.write_text("not music at all")
    response = alice_browser.post("/clips/upload/", {"files": [as_upload(fake)]})
    assert response.status_code == 400
    assert "song.mp3: This is not an audio file we can read." in response.content.decode()
    assert Clip.objects.count() == 0


def test_the_history_filters_and_searches(
    alice_browser, music_wav, noise_flac, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alice_browser.post(
            "/clips/upload/",
            {"files": [as_upload(music_wav, "tune.wav"), as_upload(noise_flac, "hiss.flac")]},
        )
    page = alice_browser.get("/?search=hiss").content.decode()
    assert "hiss.flac" in page and "tune.wav" not in page
    assert "No clips match" in alice_browser.get("/?status=failed").content.decode()


def test_deleting_from_the_clip_page_removes_the_file(
    alice_browser, music_wav, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alice_browser.post("/clips/upload/", {"files": [as_upload(music_wav)]})
    clip = Clip.objects.get()
    stored = Path(clip.file.path)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_browser.post(f"/clips/{clip.pk}/delete/")
    assert response.status_code == 302
    assert not Clip.objects.exists() and not stored.exists()


def test_the_audio_view_answers_range_requests(alice_browser, music_wav, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alice_browser.post("/clips/upload/", {"files": [as_upload(music_wav)]})
    clip = Clip.objects.get()
    whole = alice_browser.get(f"/clips/{clip.pk}/audio/")
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    assert b"".join(whole.streaming_content) == music_wav.read_bytes()
    part = alice_browser.get(f"/clips/{clip.pk}/audio/", HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part.content == music_wav.read_bytes()[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{music_wav.stat().st_size}"
    assert alice_browser.get(f"/clips/{clip.pk}/audio/", HTTP_RANGE="bytes=99999999-").status_code == 416


def test_an_unsure_result_names_both_candidates_and_takes_a_one_click_answer(
    alice, alice_browser, music_wav, django_capture_on_commit_callbacks
):
    from classify.clips import intake, summary
    from classify.models import Classification, Segment

    with django_capture_on_commit_callbacks(execute=True):
        clip = intake.create_clip(alice, as_upload(music_wav))
    clip.refresh_from_db()
    # The model hesitated on the segments that decide the label (what makes a clip unsure).
    Classification.objects.filter(pk=clip.result_id).update(
        label="speech", confidence=0.47, probabilities={"music": 0.08, "speech": 0.47, "noise": 0.45}
    )
    Segment.objects.filter(classification_id=clip.result_id).update(label="speech", uncertain=True)
    summary.refresh(Classification.objects.get(pk=clip.result_id))
    page = alice_browser.get(f"/clips/{clip.pk}/").content.decode()
    assert "Unsure:" in page and "% confident" not in page
    assert 'data-pick="speech"' in page and 'data-pick="noise"' in page and 'data-pick="music"' not in page
    response = alice_browser.post(
        f"/clips/{clip.pk}/correct/", {"label": "noise"}, follow=True
    ).content.decode()
    assert 'It is <span class="chip noise" data-label>noise</span>' in response
    assert "corrected by you; the model said speech 47%" in response and "Unsure:" not in response
    assert clip.corrections.get().new_label == "noise"


def test_the_api_says_whether_the_model_hesitated(
    alice, alice_api, music_wav, django_capture_on_commit_callbacks
):
    from classify.clips import intake

    with django_capture_on_commit_callbacks(execute=True):
        clip = intake.create_clip(alice, as_upload(music_wav))
    body = alice_api.get(f"/api/clips/{clip.pk}/").json()
    assert isinstance(body["uncertain"], bool)
    assert all(isinstance(s["uncertain"], bool) for s in body["segments"])
    assert [s["index"] for s in body["segments"]] == list(range(len(body["segments"])))


def test_the_history_summary_counts_corrections_and_failures(
    alice, alice_browser, music_wav, django_capture_on_commit_callbacks
):
    from classify.clips import intake, state
    from classify.clips.corrections import correct
    from classify.web.views import history_summary

    with django_capture_on_commit_callbacks(execute=True):
        done = intake.create_clip(alice, as_upload(music_wav))
    failed = intake.create_clip(alice, as_upload(music_wav))  # still queued: its task never ran
    done.refresh_from_db()
    assert state.fail(failed.pk, "gave up")
    model_label = done.result.label
    new_label = "noise" if model_label != "noise" else "speech"
    correct(done, alice, new_label)
    summary = history_summary(Clip.objects.for_user(alice))
    counts = dict(summary["per_label"])
    assert counts[new_label] == 1 and counts[model_label] == 0 and summary["failed"] == 1
    page = alice_browser.get("/").content.decode()
    assert "(2 clips)" in page


def test_staff_listen_to_a_clip_from_admin_without_a_dead_media_link(
    admin_client, alice, music_wav, django_capture_on_commit_callbacks
):
    from classify.clips import intake

    with django_capture_on_commit_callbacks(execute=True):
        clip = intake.create_clip(alice, as_upload(music_wav))
    page = admin_client.get(f"/admin/classify/clip/{clip.pk}/change/").content.decode()
    assert "/media/" not in page and f"/staff/clips/{clip.pk}/audio/" in page
    assert 'name="waveform"' not in page and 'name="queued_at"' not in page  # nothing editable
    assert admin_client.get(f"/staff/clips/{clip.pk}/audio/")["Content-Type"] == "audio/wav"


def test_the_staff_audio_view_is_for_staff_only(alice_browser, alice, music_wav):
    from classify.clips import intake

    clip = intake.create_clip(alice, as_upload(music_wav))
    assert alice_browser.get(f"/staff/clips/{clip.pk}/audio/").status_code == 302  # to the admin login


def test_without_javascript_no_record_or_listen_button_shows(alice_browser):
    page = alice_browser.get("/clips/upload/").content.decode()
    assert "data-recorder hidden" in page and "data-live hidden" in page  # the scripts unhide them
