"""One deletion path for a user's data: deleting a user, from admin or by themselves on the
profile page, removes their clips, results, corrections, tokens and audio files, and nothing of
anyone else's."""

from __future__ import annotations

from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from classify.clips import intake
from classify.models import Classification, Clip, Correction
from tests.django_layer import PASSWORD, as_upload

pytestmark = pytest.mark.django_db(transaction=True)


def clip_of(user, path) -> Clip:
    clip = intake.create_clip(user, as_upload(path))  # transactional: classified on commit
    clip.refresh_from_db()
    assert clip.status == Clip.Status.DONE, clip.error
    return clip


def test_deleting_a_user_in_admin_removes_their_files_and_rows(admin_client, alice, bob, music_wav):
    alice_clip, bob_clip = clip_of(alice, music_wav), clip_of(bob, music_wav)
    from classify.clips.corrections import correct

    correct(alice_clip, alice, "noise")
    alice_file, bob_file = Path(alice_clip.file.path), Path(bob_clip.file.path)
    response = admin_client.post(f"/admin/auth/user/{alice.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not alice_file.exists() and bob_file.exists()
    assert not Clip.objects.filter(owner_id=alice.pk).exists()
    assert not Classification.objects.filter(clip_id=alice_clip.pk).exists()
    assert not Correction.objects.filter(user_id=alice.pk).exists()
    assert Clip.objects.filter(pk=bob_clip.pk).exists()


def test_users_delete_their_own_account_after_giving_their_password(client, alice, bob, music_wav):
    alice_clip, bob_clip = clip_of(alice, music_wav), clip_of(bob, music_wav)
    Token.objects.create(user=alice)
    client.force_login(alice)
    refused = client.post("/accounts/profile/delete/", {"password": "not it"})
    assert refused.status_code == 400 and b"nothing was deleted" in refused.content
    assert Clip.objects.filter(pk=alice_clip.pk).exists()

    done = client.post("/accounts/profile/delete/", {"password": PASSWORD}, follow=True)
    assert b"Your account and all your clips were deleted" in done.content
    assert not type(alice).objects.filter(pk=alice.pk).exists()
    assert not Path(alice_clip.file.path).exists() and not Token.objects.filter(user_id=alice.pk).exists()
    assert Path(bob_clip.file.path).exists()
    assert client.get("/accounts/profile/").status_code == 302  # signed out


def test_deleting_an_account_needs_a_post(client, alice):
    client.force_login(alice)
    assert client.get("/accounts/profile/delete/").status_code == 405


def test_deleting_an_account_removes_the_bytes_of_its_unfinished_big_uploads(client, alice, bob):
    """A resumable upload half-way: its part file is audio of the user's too."""
    from classify.clips import resumable

    parts = []
    for owner in (alice, bob):
        upload = resumable.begin(owner, 1000, "half.wav")
        upload.part_path.parent.mkdir(parents=True, exist_ok=True)
        upload.part_path.write_bytes(b"RIFF" + bytes(496))  # half of it arrived
        parts.append(upload.part_path)
    client.force_login(alice)
    assert client.post("/accounts/profile/delete/", {"password": PASSWORD}).status_code == 302
    assert not parts[0].exists() and parts[1].exists()


@pytest.mark.parametrize("who", ["the user", "staff in admin"])
def test_deleting_an_account_does_not_wait_for_a_part_still_streaming_in(client, admin_client, alice, who):
    """Issue 27: deleting an account waited on the row lock of the owner's part streaming in, for
    as long as that part took. The part is asked to stop at its next megabyte; the account goes."""
    import threading
    import time

    from django.db import connection

    from classify.clips import resumable
    from classify.models import ResumableUpload

    upload = resumable.begin(alice, 200 * resumable.PART_READ_BYTES, "slow.wav")
    streaming, outcome = threading.Event(), {}

    def slow_read(size: int) -> bytes:  # a megabyte every 0.2 s: the part would take 40 s
        streaming.set()
        time.sleep(0.2)
        return b"\0" * size

    def send_part():
        try:
            resumable.append(ResumableUpload.objects.get(pk=upload.pk), 0, slow_read, None)
        except Exception as error:  # the upload is gone with its owner once the part ended
            outcome["error"] = error
        finally:
            connection.close()

    part = threading.Thread(target=send_part)
    part.start()
    assert streaming.wait(10)
    started = time.monotonic()
    if who == "the user":
        client.force_login(alice)
        response = client.post("/accounts/profile/delete/", {"password": PASSWORD}, follow=True)
        assert b"Your account and all your clips were deleted" in response.content
    else:
        response = admin_client.post(f"/admin/auth/user/{alice.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
    waited_s = time.monotonic() - started
    part.join(30)
    assert waited_s < 5, waited_s
    assert not type(alice).objects.filter(pk=alice.pk).exists()
    assert not ResumableUpload.objects.filter(pk=upload.pk).exists() and not upload.part_path.exists()
