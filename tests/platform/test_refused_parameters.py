"""Control characters in query strings are a 400 with a message, for HTML and API alike; numbers
from requests are parsed strictly; nothing a client sends turns into a 500."""

from __future__ import annotations

import pytest

from classify.models import Clip
from tests.django_layer import as_upload

pytestmark = pytest.mark.django_db

HOSTILE_SEARCHES = ["\x00", "abc\x00def", "\x1b[31m", "tab\there", "\x7f"]


@pytest.mark.parametrize("search", HOSTILE_SEARCHES)
@pytest.mark.parametrize("url", ["/api/clips/", "/api/clips/export/", "/api/clips/export/?type=csv"])
def test_the_api_refuses_control_characters_in_parameters_with_a_400(alice_api, url, search):
    response = alice_api.get(url, {"search": search})
    assert response.status_code == 400
    assert "control characters" in response.json()["detail"]


@pytest.mark.parametrize("search", HOSTILE_SEARCHES)
@pytest.mark.parametrize("url", ["/", "/clips/export.csv", "/clips/export.json"])
def test_the_html_pages_refuse_control_characters_in_parameters_with_a_400(alice_browser, url, search):
    response = alice_browser.get(url, {"search": search})
    assert response.status_code == 400
    assert b"control characters" in response.content


def test_a_control_character_in_a_parameter_name_is_refused_too(alice_api):
    assert alice_api.get("/api/clips/?a%00b=1").status_code == 400


def test_ordinary_searches_still_work(alice_api, alice_browser):
    assert alice_api.get("/api/clips/", {"search": "interview 2026-11 (café)"}).status_code == 200
    assert alice_browser.get("/", {"search": "été"}).status_code == 200


@pytest.fixture
def done_clip(alice, music_wav, django_capture_on_commit_callbacks):
    from classify.clips import intake

    with django_capture_on_commit_callbacks(execute=True):
        clip = intake.create_clip(alice, as_upload(music_wav))
    clip.refresh_from_db()
    assert clip.status == Clip.Status.DONE
    return clip


@pytest.mark.parametrize("segment", ["²", "٣", "1e3", "-1", "0x1", " 1 2", "9" * 40])
def test_the_correction_form_refuses_a_segment_that_is_not_a_plain_number(alice_browser, done_clip, segment):
    response = alice_browser.post(
        f"/clips/{done_clip.pk}/correct/", {"label": "noise", "segment": segment}, follow=True
    )
    assert response.status_code == 200
    assert b"whole number" in response.content or b"no such segment" in response.content
    assert not done_clip.corrections.exists()


@pytest.mark.parametrize("segment", [10**12, -1, "²", 2**63])
def test_the_correction_api_refuses_out_of_range_segments_with_a_400(alice_api, done_clip, segment):
    response = alice_api.post(
        f"/api/clips/{done_clip.pk}/corrections/", {"label": "noise", "segment": segment}, format="json"
    )
    assert response.status_code == 400
    assert not done_clip.corrections.exists()


@pytest.mark.parametrize("clip_id", ["99999999999999999999999", "1.5", "-1", "%00"])
def test_odd_clip_ids_are_a_json_404_not_a_500(alice_api, clip_id):
    response = alice_api.get(f"/api/clips/{clip_id}/")
    assert response.status_code in (400, 404)
    assert response["Content-Type"].startswith("application/json")


def test_pages_that_do_not_exist_keep_the_site_header_and_a_way_back(alice_browser):
    response = alice_browser.get("/clips/123456/")
    assert response.status_code == 404
    assert b"Audio classifier" in response.content and b"Back to your history" in response.content


@pytest.mark.parametrize("query", ["label=banana", "status=finished", "label=music&status=nope"])
def test_the_api_refuses_filter_values_it_does_not_know(alice_api, query):
    for url in ("/api/clips/", "/api/clips/export/"):
        response = alice_api.get(f"{url}?{query}")
        assert response.status_code == 400 and "Choose one of" in str(response.json())


def test_the_api_filters_by_silence_and_by_status(alice_api):
    assert alice_api.get("/api/clips/?label=silence&status=failed").status_code == 200
