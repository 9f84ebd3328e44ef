"""Layered answers through the worker, the API, the page, the filters and the exports: speech over
music answered so, with two lanes; families of sounds; "there is no music here" kept like any
correction; live mode's lanes; another user sees none of it."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import soundfile

from classify.clips import state
from classify.models import Clip, Correction
from tests.conftest import FIXTURES
from tests.django_layer import classified, process_clip

pytestmark = pytest.mark.django_db


def looped(name: str, seconds: float) -> tuple[np.ndarray, int]:
    samples, rate = soundfile.read(FIXTURES / name, dtype="float32")
    return np.tile(samples, int(np.ceil(seconds * rate / len(samples))))[: int(seconds * rate)], rate


@pytest.fixture
def podcast(tmp_path):
    """16 s of real speech with real music 8 dB under it."""
    speech, rate = looped("speech.flac", 16.0)
    music, _ = looped("music.flac", 16.0)
    music *= np.sqrt(np.mean(speech**2)) * 10 ** (-8 / 20) / np.sqrt(np.mean(music**2))
    mixed = speech + music
    path = tmp_path / "podcast.wav"
    soundfile.write(path, 0.8 * mixed / np.abs(mixed).max(), rate)
    return path


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_speech_over_music_is_answered_so_everywhere(alice, alice_api, alice_browser, bob_api, podcast):
    clip = classified(alice, podcast)
    body = alice_api.get(f"/api/clips/{clip.pk}/").json()
    assert body["label"] == "speech" and body["has_music"] is True, body
    assert body["music_under_speech_s"] > 8 and body["music_level_db"] < 0
    assert body["answer"].startswith("Speech with music under it · music ") and " dB" in body["answer"]
    assert body["tracks"]["speech"] and body["tracks"]["music"]
    assert "speech" in body["families"]
    assert all(s["family"] == "speech" for s in body["segments"] if s["label"] == "speech")

    assert [c["id"] for c in alice_api.get("/api/clips/?has_music=true").json()["results"]] == [clip.pk]
    assert alice_api.get("/api/clips/?has_music=false").json()["count"] == 0
    assert alice_api.get("/api/clips/?family=speech").json()["count"] == 1
    assert alice_api.get("/api/clips/?family=birds").json()["count"] == 0
    assert alice_api.get("/api/clips/?family=banana").status_code == 400

    page = alice_browser.get(f"/clips/{clip.pk}/").content.decode()
    assert "data-music-under>Speech with music under it · music" in page
    music_lane = page.split('data-lane="music"')[1].split("</div></div>")[0]
    assert "data-track" in music_lane
    history = alice_browser.get("/?has_music=true").content.decode()
    assert f'data-clip="{clip.pk}"' in history and "♪ under" in history

    row = next(csv.DictReader(io.StringIO(streamed(alice_browser.get("/clips/export.csv")))))
    assert row["has_music"] == "True" and "speech" in row["families"] and float(row["music_level_db"]) < 0
    lanes = json.loads(streamed(alice_api.get(f"/api/clips/{clip.pk}/tracks/?type=json")))
    assert {row["lane"] for row in lanes} == {"speech", "music"}
    labels = streamed(alice_browser.get(f"/clips/{clip.pk}/tracks.audacity?lane=music")).splitlines()
    assert labels and all(line.split("\t")[2].startswith("music") for line in labels)
    segments = list(
        csv.DictReader(io.StringIO(streamed(alice_browser.get(f"/clips/{clip.pk}/segments.csv"))))
    )
    assert segments[0]["family"] and segments[0]["tags"]
    assert bob_api.get(f"/api/clips/{clip.pk}/tracks/").status_code == 404


def test_there_is_no_music_here_empties_the_music_lane_and_is_kept_like_other_corrections(
    alice, alice_api, alice_browser, podcast
):
    clip = classified(alice, podcast)
    said = alice_api.post(f"/api/clips/{clip.pk}/corrections/", {"label": "no-music"}, format="json")
    assert said.status_code == 201
    body = alice_api.get(f"/api/clips/{clip.pk}/").json()
    assert (body["has_music"], body["no_music"], body["tracks"]["music"]) == (False, True, [])
    assert body["answer"] == "speech" and body["tracks"]["speech"]
    assert alice_api.get("/api/clips/?has_music=false").json()["count"] == 1
    read_back = alice_api.get(f"/api/clips/{clip.pk}/corrections/").json()
    assert [(c["old_label"], c["new_label"]) for c in read_back] == [("music", "no-music")]
    page = alice_browser.get(f"/clips/{clip.pk}/").content.decode()
    assert "data-no-music" not in page and "data-music-under" not in page
    assert (
        alice_api.post(
            f"/api/clips/{clip.pk}/corrections/", {"label": "no-music", "segment": 0}, format="json"
        ).status_code
        == 400
    )


def test_a_rain_recording_is_named_by_its_family_and_found_by_it(alice, alice_api, alice_browser):
    clip = classified(alice, FIXTURES / "noise-rain.flac")
    body = alice_api.get(f"/api/clips/{clip.pk}/").json()
    assert body["families"] == ["water-weather"], body["segments"]
    assert alice_api.get("/api/clips/?family=water-weather").json()["count"] == 1
    page = alice_browser.get(f"/clips/{clip.pk}/").content.decode()
    assert "Heard: noise: water or weather" in page


def test_classifying_again_with_the_same_model_keeps_the_owners_corrections(alice, alice_api, podcast):
    clip = classified(alice, podcast)
    alice_api.post(f"/api/clips/{clip.pk}/corrections/", {"label": "noise", "segment": 0}, format="json")
    before = alice_api.get(f"/api/clips/{clip.pk}/").json()
    assert state.requeue(clip.pk)
    assert process_clip(clip.pk).status == Clip.Status.DONE
    after = alice_api.get(f"/api/clips/{clip.pk}/").json()
    assert Correction.objects.filter(clip=clip).count() == 1
    assert after["segments"][0]["label"] == "noise" and after["segments"] == before["segments"]
