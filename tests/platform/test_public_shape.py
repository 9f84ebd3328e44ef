"""One public shape (classify/clips/public.py): a finished clip of every kind validates against the
API's own schema and reads the same in the API, the history and segment exports and on its page;
a whole-clip correction reaches the timeline, the shares and every export; a mixed clip is filed
under the class holding the most time."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import jsonschema
import numpy as np
import pytest
import soundfile

from classify.models import Clip
from tests.conftest import FIXTURES
from tests.django_layer import classified

pytestmark = pytest.mark.django_db


def as_json_schema(node: Any, components: dict) -> Any:
    """OpenAPI 3.0's schema objects as JSON Schema: references inlined, `nullable` as a null type."""
    if isinstance(node, list):
        return [as_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return as_json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    out = {key: as_json_schema(value, components) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def schemas(api) -> dict[str, dict]:
    """The API's own schema's Clip (one clip) and ClipListItem (a row of the list) as JSON Schema."""
    components = api.get("/api/schema/?format=json").json()["components"]["schemas"]
    return {
        name: {**as_json_schema(components[name], components), "additionalProperties": False}
        for name in ("Clip", "ClipListItem")
    }


@pytest.fixture
def clip_schema(alice_api) -> dict:
    return schemas(alice_api)["Clip"]


@pytest.fixture
def list_schema(alice_api) -> dict:
    return schemas(alice_api)["ClipListItem"]


def two_kinds(tmp_path):
    """12.6 s of real speech, then 12 s of real music."""
    speech, rate = soundfile.read(FIXTURES / "speech.flac", dtype="float32")
    music, _ = soundfile.read(FIXTURES / "music.flac", dtype="float32")
    path = tmp_path / "interview-then-song.wav"
    soundfile.write(path, np.concatenate([speech] * 4 + [music] * 3), rate)
    return path


def quiet(tmp_path):
    path = tmp_path / "quiet-room.wav"
    soundfile.write(path, np.random.default_rng(0).normal(0, 3e-4, 16000 * 6).astype("float32"), 16000)
    return path


def finished_clip(kind: str, alice, alice_api, tmp_path) -> Clip:
    if kind == "silent":
        return classified(alice, quiet(tmp_path))
    if kind in ("plain", "corrected"):
        clip = classified(alice, FIXTURES / "speech.flac")
    else:
        clip = classified(alice, two_kinds(tmp_path))
    if kind == "corrected":
        alice_api.post(f"/api/clips/{clip.pk}/corrections/", {"label": "music"}, format="json")
    if kind == "segment-corrected":
        alice_api.post(f"/api/clips/{clip.pk}/corrections/", {"label": "noise", "segment": 0}, format="json")
    return clip


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.mark.parametrize("kind", ["plain", "mixed", "corrected", "segment-corrected", "silent"])
def test_a_finished_clip_of_every_kind_validates_against_the_schema_and_reads_the_same_everywhere(
    kind, alice, alice_api, alice_browser, clip_schema, list_schema, tmp_path
):
    clip = finished_clip(kind, alice, alice_api, tmp_path)
    body = alice_api.get(f"/api/clips/{clip.pk}/").json()
    jsonschema.validate(body, clip_schema)
    for listed in alice_api.get("/api/clips/").json()["results"]:
        jsonschema.validate(listed, list_schema)
    if kind == "silent":
        assert body["label"] == "silence"

    exported = json.loads(streamed(alice_api.get("/api/clips/export/?type=json")))[0]
    as_csv = next(csv.DictReader(io.StringIO(streamed(alice_browser.get("/clips/export.csv")))))
    for field in ("label", "answer", "model_label", "corrected_label", "confidence", "uncertain", "mixed"):
        assert exported[field] == body[field], field
        assert as_csv[field] == ("" if body[field] is None else str(body[field])), field
    for name, seconds in body["shares"].items():
        assert exported[f"{name}_s"] == seconds
    for name, probability in body["probabilities"].items():
        assert exported[name] == probability

    labels = [s["label"] for s in body["segments"]]
    segment_rows = json.loads(streamed(alice_api.get(f"/api/clips/{clip.pk}/segments/?type=json")))
    assert [row["label"] for row in segment_rows] == labels
    assert [row["uncertain"] for row in segment_rows] == [s["uncertain"] for s in body["segments"]]
    audacity = streamed(alice_browser.get(f"/clips/{clip.pk}/segments.audacity")).splitlines()
    assert [line.split("\t")[2] for line in audacity] == [
        s["label"] + ("?" if s["uncertain"] else "") for s in body["segments"]
    ]
    page = alice_browser.get(f"/clips/{clip.pk}/").content.decode()
    assert re.findall(r'<button type="button" class="seg (\w+)', page) == labels


def test_a_whole_clip_correction_reaches_the_timeline_the_shares_and_every_export(
    alice, alice_api, alice_browser, tmp_path
):
    clip = classified(alice, FIXTURES / "speech.flac")
    before = alice_api.get(f"/api/clips/{clip.pk}/").json()
    assert before["shares"]["speech"] > 0
    alice_api.post(f"/api/clips/{clip.pk}/corrections/", {"label": "music"}, format="json")
    body = alice_api.get(f"/api/clips/{clip.pk}/").json()
    voiced = [s for s in body["segments"] if s["model_label"] != "silence"]
    assert voiced and all(s["label"] == "music" and not s["uncertain"] for s in voiced)
    assert body["shares"]["speech"] == 0 and body["shares"]["music"] == pytest.approx(
        sum(s["end"] - s["start"] for s in voiced), abs=0.05
    )
    audacity = streamed(alice_browser.get(f"/clips/{clip.pk}/segments.audacity"))
    assert "speech" not in audacity and "?" not in audacity
    rows = list(csv.DictReader(io.StringIO(streamed(alice_browser.get(f"/clips/{clip.pk}/segments.csv")))))
    assert {row["label"] for row in rows if row["model_label"] != "silence"} == {"music"}
    history = next(csv.DictReader(io.StringIO(streamed(alice_browser.get("/clips/export.csv")))))
    assert float(history["speech_s"]) == 0 and float(history["music_s"]) > 0


def test_a_mixed_clip_is_filed_under_the_class_holding_the_most_time(
    alice, alice_api, alice_browser, tmp_path
):
    clip = classified(alice, two_kinds(tmp_path))
    body = alice_api.get(f"/api/clips/{clip.pk}/").json()
    assert body["mixed"] is True
    largest = max(("music", "speech", "noise"), key=lambda name: body["shares"][name])
    assert body["label"] == largest and body["answer"].lower().startswith(largest)
    assert [c["id"] for c in alice_api.get(f"/api/clips/?label={largest}").json()["results"]] == [clip.pk]
    other = next(name for name in ("music", "speech") if name != largest)
    assert alice_api.get(f"/api/clips/?label={other}").json()["count"] == 0
    assert (
        f'<span class="chip {largest}">{largest}</span><strong>1</strong>'
        in alice_browser.get("/").content.decode()
    )


def test_the_label_of_a_mixed_clip_is_its_largest_share_whatever_the_averaged_probabilities_said():
    from classify.clips.summary import Span, summarize

    answer = summarize("speech", "", False, [Span(0, 29, "speech"), Span(29, 60, "music")])
    assert (answer.mixed, answer.shown_label, answer.headline(), answer.by_owner) == (
        True,
        "music",
        "Music 31 s · speech 29 s",
        False,
    )


def test_the_history_list_carries_no_timeline_and_reads_no_segments(
    alice, alice_api, tmp_path, django_assert_max_num_queries
):
    """A page of long recordings was every segment of every clip (57 MB for 20 of them, issue 27):
    list rows carry the answer; the clip's own URL carries its timeline and tracks."""
    for _ in range(3):
        classified(alice, two_kinds(tmp_path))
    waiting = Clip.objects.filter(owner=alice).first()
    Clip.objects.filter(pk=waiting.pk).update(
        status="processing",
        progress={"done_s": 60, "total_s": 120, "rate": 600, "left_s": 0.1, "segments": [{"start": 0}] * 500},
    )
    with django_assert_max_num_queries(12):  # not one query per clip's segments
        rows = alice_api.get("/api/clips/").json()["results"]
    assert len(rows) == 3 and all("segments" not in row and "tracks" not in row for row in rows)
    progress = next(row["progress"] for row in rows if row["id"] == waiting.pk)
    assert progress["done_s"] == 60 and "segments" not in progress
    detail = alice_api.get(f"/api/clips/{rows[1]['id']}/").json()
    assert detail["segments"] and detail["tracks"]["speech"]
