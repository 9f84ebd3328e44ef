"""Bob never sees or touches alice's clips: 404 on every URL and verb, HTML and API alike."""

from __future__ import annotations

import pytest

from classify.models import Clip
from tests.django_layer import as_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_clip(alice_api, music_wav, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post("/api/clips/", {"file": as_upload(music_wav)}, format="multipart")
    return Clip.objects.get(pk=response.json()["id"])


@pytest.mark.parametrize("method", ["get", "delete"])
def test_bob_gets_404_for_alices_clip_in_the_api(bob_api, alices_clip, method):
    response = getattr(bob_api, method)(f"/api/clips/{alices_clip.pk}/")
    assert response.status_code == 404
    assert Clip.objects.filter(pk=alices_clip.pk).exists()


def test_bobs_list_does_not_include_alices_clip(bob_api, alices_clip):
    assert bob_api.get("/api/clips/").json()["count"] == 0


@pytest.mark.parametrize(
    "path, method",
    [
        ("/clips/{}/", "get"),
        ("/clips/{}/audio/", "get"),
        ("/clips/{}/delete/", "post"),
    ],
)
def test_bob_gets_404_for_alices_clip_in_html(client, bob, alices_clip, path, method):
    client.force_login(bob)
    response = getattr(client, method)(path.format(alices_clip.pk))
    assert response.status_code == 404
    assert Clip.objects.filter(pk=alices_clip.pk).exists()


def test_bobs_history_page_does_not_show_alices_clip(client, bob, alices_clip):
    client.force_login(bob)
    assert alices_clip.original_filename not in client.get("/").content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client, alices_clip):
    for path in (f"/clips/{alices_clip.pk}/", f"/clips/{alices_clip.pk}/audio/", "/clips/upload/"):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
