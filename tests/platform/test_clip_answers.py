"""What a clip is shown as (classify/clips/summary.py): mixed clips answered with time shares,
corrections that change the answer everywhere, silence kept as silence, "unsure" only where the
deciding segments are unsure; the same answer on the page, in history, the API, the filters
and the exports."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest
import soundfile

from classify.clips import summary
from classify.clips.summary import Span, summarize
from classify.models import Classification, Clip, Segment
from tests.conftest import FIXTURES
from tests.django_layer import classified

pytestmark = pytest.mark.django_db


@pytest.fixture
def interview_then_song(tmp_path):
    """12.6 s of real speech, then 12 s of real music: a clip of two kinds."""
    speech, rate = soundfile.read(FIXTURES / "speech.flac", dtype="float32")
    music, _ = soundfile.read(FIXTURES / "music.flac", dtype="float32")
    path = tmp_path / "interview-then-song.wav"
    soundfile.write(path, np.concatenate([speech] * 4 + [music] * 3), rate)
    return path


def test_a_clip_of_speech_then_music_is_answered_with_its_time_shares_everywhere(
    alice, alice_api, alice_browser, interview_then_song
):
    clip = classified(alice, interview_then_song)
    body = alice_api.get(f"/api/clips/{clip.pk}/").json()
    assert body["mixed"] is True, body["segments"]
    assert body["shares"]["speech"] == pytest.approx(12.6, abs=2.0)
    assert body["shares"]["music"] == pytest.approx(12.0, abs=2.0)
    assert body["answer"].startswith(("Speech ", "Music ")) and " · " in body["answer"]

    page = alice_browser.get(f"/clips/{clip.pk}/").content.decode()
    assert "data-mixed" in page and "data-time-bars" in page and "% confident" not in page
    headline = re.search(r"<h2 data-answer data-mixed>(.*?)</h2>", page, re.S)[1]
    for name in ("speech", "music"):  # seconds in words, as the API's answer says them
        spoken = summary.spoken_seconds(body["shares"][name])
        assert f"</span> {spoken}" in headline and re.fullmatch(r"\d+ s", spoken), (spoken, headline)
    history = alice_browser.get("/?mixed=true").content.decode()
    assert f'data-clip="{clip.pk}"' in history and "mixed" in history
    assert alice_api.get("/api/clips/?mixed=false").json()["count"] == 0
    assert alice_api.get("/api/clips/?mixed=true").json()["count"] == 1

    row = next(
        csv.DictReader(
            io.StringIO(b"".join(alice_browser.get("/clips/export.csv").streaming_content).decode())
        )
    )
    assert row["mixed"] == "True" and float(row["speech_s"]) > 8 and float(row["music_s"]) > 8
    assert row["answer"] == body["answer"]


def test_a_correction_changes_the_answer_on_the_page_in_filters_summary_and_exports(
    alice, alice_api, alice_browser, interview_then_song
):
    clip = classified(alice, interview_then_song)
    assert (
        alice_api.post(f"/api/clips/{clip.pk}/corrections/", {"label": "noise"}, format="json").status_code
        == 201
    )
    body = alice_api.get(f"/api/clips/{clip.pk}/").json()
    assert (body["label"], body["answer"], body["mixed"], body["uncertain"]) == (
        "noise",
        "noise",
        False,
        False,
    )
    assert body["model_label"] in ("speech", "music") and body["corrected_label"] == "noise"

    page = alice_browser.get(f"/clips/{clip.pk}/").content.decode()
    assert 'It is <span class="chip noise" data-label>noise</span>' in page
    assert "corrected by you; the model said" in page and "data-mixed" not in page
    assert [c["id"] for c in alice_api.get("/api/clips/?label=noise").json()["results"]] == [clip.pk]
    assert alice_api.get(f"/api/clips/?label={body['model_label']}").json()["count"] == 0
    assert (
        '<span class="chip noise">noise</span><strong>1</strong>' in alice_browser.get("/").content.decode()
    )
    exported = json.loads(b"".join(alice_api.get("/api/clips/export/?type=json").streaming_content))
    assert exported[0]["label"] == "noise" and exported[0]["model_label"] == body["model_label"]
    read_back = alice_api.get(f"/api/clips/{clip.pk}/corrections/").json()
    assert [(c["segment"], c["old_label"], c["new_label"]) for c in read_back] == [
        (None, body["model_label"], "noise")
    ]


def test_a_segment_can_be_corrected_to_silence_and_is_shown_as_silence(
    alice, alice_api, alice_browser, interview_then_song
):
    clip = classified(alice, interview_then_song)
    page = alice_browser.get(f"/clips/{clip.pk}/").content.decode()
    assert '<option value="silence"' in page and '<span class="chip silence">silence</span>' in page  # legend
    assert (
        alice_browser.post(f"/clips/{clip.pk}/correct/", {"segment": "0", "label": "silence"}).status_code
        == 302
    )
    first = alice_api.get(f"/api/clips/{clip.pk}/").json()["segments"][0]
    assert (first["label"], first["corrected_label"]) == ("silence", "silence") and first[
        "model_label"
    ] != "silence"
    assert (
        alice_api.get(f"/api/clips/{clip.pk}/").json()["shares"]["silence"]
        >= first["end"] - first["start"] - 0.01
    )
    refused = alice_api.post(f"/api/clips/{clip.pk}/corrections/", {"label": "silence"}, format="json")
    assert refused.status_code == 400 and "music, speech, noise" in refused.json()["detail"]


def test_segments_corrected_through_the_api_change_the_clips_answer_and_shares(
    alice, alice_api, alice_browser, interview_then_song
):
    """The API's view reads the clip with its segments prefetched: the stored summary must come
    from the segments as corrected, not from that earlier list."""
    clip = classified(alice, interview_then_song)
    body = alice_api.get(f"/api/clips/{clip.pk}/").json()
    assert body["mixed"] is True
    speech = next(s for s in body["segments"] if s["label"] == "speech")
    answer = alice_api.post(
        f"/api/clips/{clip.pk}/corrections/", {"label": "silence", "segment": speech["index"]}, format="json"
    )
    assert answer.status_code == 201
    after = alice_api.get(f"/api/clips/{clip.pk}/").json()
    assert after["shares"]["silence"] >= speech["end"] - speech["start"] - 0.01
    assert after["shares"]["speech"] < body["shares"]["speech"]
    assert (after["mixed"], after["label"], after["answer"]) == (False, "music", "music"), after
    streamed = alice_api.get("/api/clips/export/?type=csv").streaming_content
    exported = list(csv.DictReader(io.StringIO(b"".join(streamed).decode())))
    assert (exported[0]["label"], exported[0]["mixed"]) == ("music", "False")
    page = alice_browser.get(f"/clips/{clip.pk}/").content.decode()
    headline = re.search(r"<h2 data-answer data-corrected>(.*?)</h2>", page, re.S)[1]
    assert ">music</span>" in headline and f"the model said {body['model_label']}" in headline
    history = alice_browser.get("/").content.decode()
    assert "✎ corrected" in history


def test_segment_exports_as_csv_json_and_audacity_labels_follow_the_timeline_as_shown(
    alice, alice_api, alice_browser, bob_api, interview_then_song
):
    clip = classified(alice, interview_then_song)
    alice_api.post(f"/api/clips/{clip.pk}/corrections/", {"label": "noise", "segment": 0}, format="json")
    segments = alice_api.get(f"/api/clips/{clip.pk}/").json()["segments"]
    labels = b"".join(alice_browser.get(f"/clips/{clip.pk}/segments.audacity").streaming_content).decode()
    lines = [line.split("\t") for line in labels.splitlines()]
    assert len(lines) == len(segments) and lines[0][2] == "noise"
    assert [float(start) for start, _, _ in lines] == pytest.approx([s["start"] for s in segments], abs=1e-3)
    rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(alice_browser.get(f"/clips/{clip.pk}/segments.csv").streaming_content).decode()
            )
        )
    )
    assert rows[0]["label"] == "noise" and rows[0]["corrected"] == "True"
    as_json = json.loads(
        b"".join(alice_api.get(f"/api/clips/{clip.pk}/segments/?type=json").streaming_content)
    )
    assert [row["label"] for row in as_json] == [s["label"] for s in segments]
    assert bob_api.get(f"/api/clips/{clip.pk}/segments/").status_code == 404
    assert alice_api.get(f"/api/clips/{clip.pk}/segments/?type=xml").status_code == 400


def test_a_clip_is_unsure_only_when_a_segment_that_decides_it_is():
    sure = [Span(0, 10, "speech")]
    assert not summarize("speech", "", True, sure).uncertain  # its only segment is sure
    hesitant = [Span(0, 8, "speech"), Span(8, 10, "speech", uncertain=True)]
    assert summarize("speech", "", False, hesitant).uncertain  # a deciding segment hesitated
    elsewhere = [Span(0, 9, "speech"), Span(9, 10, "noise", uncertain=True)]
    assert not summarize("speech", "", False, elsewhere).uncertain  # a blip that decides nothing
    assert not summarize("speech", "noise", False, hesitant).uncertain  # the owner answered
    assert summarize("speech", "", True, [Span(0, 5, "silence")]).shown_label == "silence"


def test_segment_corrections_answer_a_clip_from_its_timeline_as_corrected():
    model = [Span(0, 12, "speech"), Span(12, 24, "music")]
    assert summarize("speech", "", False, model).mixed  # as the model heard it
    speech_was_silence = [Span(0, 12, "speech", "silence"), Span(12, 24, "music")]
    answer = summarize("speech", "", False, speech_was_silence)
    assert (answer.shown_label, answer.mixed, answer.by_owner) == ("music", False, True)
    a_blip_fixed = [Span(0, 20, "speech"), Span(20, 21, "music", "speech"), Span(21, 24, "noise")]
    answer = summarize("speech", "", False, a_blip_fixed)
    assert (answer.shown_label, answer.by_owner) == ("speech", False)  # still the model's answer
    assert summarize("speech", "noise", False, model).by_owner  # a clip correction is the owner's


@pytest.mark.parametrize(
    ("seconds", "spoken"),
    [(4.51, "4.5 s"), (9.96, "10 s"), (24.4, "24 s"), (1208, "20 min"), (7260, "2 h 1 min"), (21600, "6 h")],
)
def test_durations_are_said_with_their_unit_as_people_say_them(seconds, spoken):
    assert summary.spoken_seconds(seconds) == spoken


def test_one_class_holding_nearly_all_the_time_is_a_single_answer():
    assert not summarize("speech", "", False, [Span(0, 8, "speech"), Span(8, 9.9, "music")]).mixed  # < 2 s
    assert not summarize("speech", "", False, [Span(0, 90, "speech"), Span(90, 100, "music")]).mixed  # 10 %
    mixed = summarize("speech", "", False, [Span(0, 24, "speech"), Span(24, 37, "music")])
    assert (
        mixed.mixed
        and mixed.headline() == "Speech 24 s · music 13 s"
        and mixed.gist() == "Mostly speech, with music"
    )


def test_the_api_refuses_orderings_and_page_sizes_it_does_not_know(alice_api):
    for query in ("ordering=size", "page_size=0", "page_size=101", "page_size=ten", "uncertain=maybe"):
        assert alice_api.get(f"/api/clips/?{query}").status_code == 400, query
    assert alice_api.get("/api/clips/?ordering=filename&page_size=5").status_code == 200


def test_history_sorts_by_file_name_and_says_total_audio_in_minutes(alice, alice_browser, tmp_path):
    from tests.audio_factory import chord, write

    for name in ("b.wav", "a.wav", "c.wav"):
        classified(alice, write(tmp_path / name, chord(2.0)))
    Clip.objects.filter(owner=alice).update(duration_s=367)
    page = alice_browser.get("/?ordering=filename").content.decode()
    assert page.index(">a.wav<") < page.index(">b.wav<") < page.index(">c.wav<")
    assert "data-total-audio>18 min<" in page


def test_a_stored_summary_is_recomputed_after_each_correction(alice, interview_then_song):
    clip = classified(alice, interview_then_song)
    result = Classification.objects.get(pk=clip.result_id)
    assert result.shown_label == result.label and result.shares["speech"] > 0
    Segment.objects.filter(classification=result).update(corrected_label="noise")
    stored = summary.refresh(result)
    assert stored.shares["noise"] == pytest.approx(clip.duration_s, abs=0.6) and not stored.mixed


@pytest.mark.parametrize(
    ("seconds", "said"), [(5252.7, "1:27:32.7"), (75.25, "1:15.2"), (3600, "1:00:00.0"), (9.96, "0:10.0")]
)
def test_a_moment_in_a_long_recording_is_said_on_a_clock(seconds, said):
    assert summary.clock(seconds) == said


def test_a_long_clips_segment_list_says_where_on_a_clock_as_its_zoom_view_does(
    alice, alice_browser, tmp_path
):
    from tests.audio_factory import chord, write

    clip = classified(alice, write(tmp_path / "long.wav", chord(4.0)))
    Clip.objects.filter(pk=clip.pk).update(duration_s=5400)  # an hour and a half, as far as the page knows
    page = alice_browser.get(f"/clips/{clip.pk}/").content.decode()
    assert "<span data-when>0:00.0–0:04.0</span>" in page
    short = classified(alice, write(tmp_path / "short.wav", chord(4.0)))
    assert "<span data-when>0.0–4.0 s</span>" in alice_browser.get(f"/clips/{short.pk}/").content.decode()


def test_a_confidence_on_a_half_percent_reads_the_same_on_the_page_history_and_upload_list(
    alice, alice_browser, tmp_path
):
    """The upload list rounds with Math.round (93 for 0.925); the pages rounded to even (92)."""
    from tests.audio_factory import chord, write

    clip = classified(alice, write(tmp_path / "tune.wav", chord(4.0)))
    Classification.objects.filter(pk=clip.result_id).update(confidence=0.925)
    assert "(93% confident)" in alice_browser.get(f"/clips/{clip.pk}/").content.decode()
    assert "<td>93%</td>" in alice_browser.get("/").content.decode()
