"""Every admin page staff can reach opens without a server error, with real rows in every table:
clips done, failed and queued, corrections of a clip and of a segment, a live session, model
versions (the shipped one and a failed run), tokens and lock-out records."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import RequestFactory
from django.urls import reverse

from classify.clips import corrections, intake
from classify.clips import state as clip_state
from classify.live import sessions
from classify.model_versions import training
from classify.models import Clip, ModelVersion
from tests.conftest import FIXTURES
from tests.django_layer import as_upload, process_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_kind_of_row(alice, admin_user, client, settings, tiny_corpus):
    settings.TRAINING_CORPUS_DIR = tiny_corpus  # made in code: the fast layers need no ../shared
    with transaction.atomic():
        done = intake.create_clip(alice, as_upload(FIXTURES / "speech.flac", content_type="audio/flac"))
        failed = intake.create_clip(alice, as_upload(FIXTURES / "music.flac", content_type="audio/flac"))
        intake.create_clip(alice, as_upload(FIXTURES / "noise-rain.flac", content_type="audio/flac"))
    process_clip(done.pk)
    clip_state.fail(failed.pk, "The file could not be decoded.")
    done = Clip.objects.with_result().get(pk=done.pk)
    corrections.correct(done, alice, "music")
    corrections.correct(done, alice, "silence", segment_index=0)
    sessions.open_session(alice)
    with transaction.atomic():
        run = training.queue_training(admin_user, with_corrections=False, enqueue=False)
    ModelVersion.objects.filter(pk=run.pk).update(status="failed", error="The corpus was not found.")
    client.post(reverse("login"), {"username": alice.username, "password": "wrong"})  # a lock-out record


def admin_urls() -> list[str]:
    urls = []
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        base = f"admin:{meta.app_label}_{meta.model_name}"
        changelist = reverse(f"{base}_changelist")
        urls += [changelist, f"{changelist}?o=1"] + (
            [f"{changelist}?q=a"] if model_admin.search_fields else []
        )
        if model_admin.has_add_permission(_request()):
            urls.append(reverse(f"{base}_add"))
        for pk in model.objects.values_list("pk", flat=True)[:3]:
            urls += [reverse(f"{base}_change", args=[pk]), reverse(f"{base}_history", args=[pk])]
    return urls


def _request():
    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(is_superuser=True)
    return request


def test_every_admin_page_opens_for_staff_with_rows_of_every_kind(every_kind_of_row, admin_client):
    urls = admin_urls()
    assert len(urls) > 50
    versions = [
        f"/admin/classify/modelversion/{pk}/" for pk in ModelVersion.objects.values_list("pk", flat=True)
    ]
    urls += ["/admin/classify/modelversion/train/"] + [
        f"{v}{page}/" for v in versions for page in ("compare", "promote")
    ]
    answered = {url: admin_client.get(url).status_code for url in urls}
    # promote sends versions that are not candidates (the active one, a failed run) back to the list
    expected = {url: 302 if url.endswith("/promote/") else 200 for url in urls}
    assert {url: code for url, code in answered.items() if code != expected[url]} == {}
    links = set()
    for url in [u for u in urls if u.endswith("/change/")]:
        links |= set(re.findall(r'href="(/admin/[^"#?]*)"', admin_client.get(url).content.decode()))
    followed = {link: admin_client.get(link).status_code for link in links if "logout" not in link}
    assert {link: code for link, code in followed.items() if code >= 500} == {}
