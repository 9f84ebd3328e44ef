"""Corrections are stored, shown and exportable; users download their own history."""

from __future__ import annotations

import csv
import io
import json

import pytest
import soundfile
from django.core.management import call_command
from django.db import transaction

from classify.clips import intake
from classify.models import Clip, Correction
from tests.django_layer import as_upload, process_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def done_clip(alice, music_wav) -> Clip:
    with transaction.atomic():
        clip = intake.create_clip(alice, as_upload(music_wav))
    process_clip(clip.pk)
    return Clip.objects.with_result().get(pk=clip.pk)


def other(label: str) -> str:
    return "speech" if label != "speech" else "noise"


def test_correcting_a_clip_in_the_browser_is_stored_and_shown(alice_browser, alice, done_clip):
    model_label = done_clip.result.label
    response = alice_browser.post(f"/clips/{done_clip.pk}/correct/", {"label": other(model_label)})
    assert response.status_code == 302
    correction = Correction.objects.get()
    assert (correction.user, correction.old_label, correction.new_label) == (
        alice,
        model_label,
        other(model_label),
    )
    assert correction.segment is None
    page = alice_browser.get(f"/clips/{done_clip.pk}/").content.decode()
    assert f'It is <span class="chip {other(model_label)}" data-label>{other(model_label)}</span>' in page
    assert f"corrected by you; the model said {model_label}" in page
    assert "✎ corrected" in alice_browser.get("/").content.decode()


def test_correcting_one_segment_through_the_api(alice_api, done_clip):
    response = alice_api.post(
        f"/api/clips/{done_clip.pk}/corrections/", {"label": "noise", "segment": 0}, format="json"
    )
    assert response.status_code == 201 and response.json()["segment"] == 0
    segment = alice_api.get(f"/api/clips/{done_clip.pk}/").json()["segments"][0]
    assert segment["corrected_label"] == "noise"
    bad = alice_api.post(
        f"/api/clips/{done_clip.pk}/corrections/", {"label": "noise", "segment": 99}, format="json"
    )
    assert bad.status_code == 400
    assert (
        alice_api.post(
            f"/api/clips/{done_clip.pk}/corrections/", {"label": "jazz"}, format="json"
        ).status_code
        == 400
    )


def test_bob_cannot_correct_alices_clip(bob_api, client, bob, done_clip):
    assert (
        bob_api.post(f"/api/clips/{done_clip.pk}/corrections/", {"label": "noise"}, format="json").status_code
        == 404
    )
    client.force_login(bob)
    assert client.post(f"/clips/{done_clip.pk}/correct/", {"label": "noise"}).status_code == 404
    assert not Correction.objects.exists()


def test_staff_export_corrections_as_a_musan_folder(alice, done_clip, tmp_path):
    from classify.clips.corrections import correct

    correct(done_clip, alice, "speech")
    correct(done_clip, alice, "noise", segment_index=0)
    out = tmp_path / "export"
    call_command("export_corrections", "--out", str(out), "--dry-run")
    assert not out.exists()
    call_command("export_corrections", "--out", str(out))
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert {(r["label"], r["path"]) for r in rows} == {
        ("speech", f"speech/user-{alice.pk}/clip{done_clip.pk}.flac"),
        ("noise", f"noise/user-{alice.pk}/clip{done_clip.pk}-seg0.flac"),
    }
    whole = soundfile.info(out / "speech" / f"user-{alice.pk}" / f"clip{done_clip.pk}.flac")
    assert whole.duration == pytest.approx(done_clip.duration_s, abs=0.05)


def test_users_download_their_history_as_csv_and_json(alice_browser, alice_api, bob_api, done_clip):
    response = alice_browser.get("/clips/export.csv")
    assert response["Content-Disposition"] == 'attachment; filename="audio-history.csv"'
    assert response.streaming  # written as it is read, whatever the history's length
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert [r["filename"] for r in rows] == ["tune.wav"] and rows[0]["label"] == done_clip.result.label
    data = json.loads(alice_api.get("/api/clips/export/?type=json").getvalue())
    assert data[0]["id"] == done_clip.pk and set(data[0]) >= {
        "label",
        "confidence",
        "music",
        "speech",
        "noise",
    }
    assert json.loads(bob_api.get("/api/clips/export/").getvalue()) == []
    assert alice_api.get("/api/clips/export/?type=xml").status_code == 400


@pytest.mark.parametrize("name", ['=HYPERLINK("evil.example")', "+1+1.wav", "-2.wav", "@SUM(A1).wav"])
def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(alice_browser, alice, music_wav, name):

    intake.create_clip(alice, as_upload(music_wav, name=name))
    rows = list(csv.DictReader(io.StringIO(alice_browser.get("/clips/export.csv").getvalue().decode())))
    assert rows[0]["filename"] == "'" + name
    json_rows = json.loads(alice_browser.get("/clips/export.json").getvalue())
    assert json_rows[0]["filename"] == name  # JSON is data, not a spreadsheet: kept as it is
