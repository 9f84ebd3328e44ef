"""The loop staff run without a shell: users correct clips -> train from admin (in a worker) ->
compare with the active model -> promote -> the next clip uses the new version while the same
worker keeps running -> roll back -> the clip after that uses the old one."""

from __future__ import annotations

import sys

import pytest
from django.db import transaction

from classify.clips import corrections, intake
from classify.model_versions import registry
from classify.models import Clip, ModelVersion
from tests.audio_factory import chord, white_noise, write
from tests.conftest import ROOT
from tests.django_layer import as_upload
from tests.system.conftest import wait_until, worker_env

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]


def corrected_clips(django_user_model, tmp_path, users: int = 3) -> None:
    """Each user uploads two clips (classified here) and corrects both, one as a whole, one by
    its first segment."""
    for n in range(users):
        user = django_user_model.objects.create_user(f"user{n}", password="a-Long-passw0rd-for-tests")
        for k, (make, label) in enumerate(((chord, "music"), (white_noise, "noise"))):
            path = write(tmp_path / f"u{n}-{k}.wav", make(4.0, seed=50 + n * 2 + k))
            with transaction.atomic():
                clip = intake.create_clip(user, as_upload(path))
            clip = Clip.objects.with_result().get(pk=clip.pk)
            corrections.correct(clip, user, label, segment_index=0 if k else None)


def upload_and_wait(alice_api, tmp_path, name: str) -> str:
    path = write(tmp_path / name, chord(3.0, seed=len(name)))
    clip_id = alice_api.post("/api/clips/", {"file": as_upload(path)}, format="multipart").json()["id"]
    clip = Clip.objects.filter(pk=clip_id)
    wait_until(lambda: clip.filter(status__in=["done", "failed"]).exists(), 90, f"{name} to be classified")
    return clip.get().result.model_version


def test_staff_train_compare_promote_and_roll_back_while_a_worker_keeps_running(
    start_process, settings, tiny_corpus, tmp_path, django_user_model, admin_client, alice_api
):
    registry.register_shipped()
    shipped = ModelVersion.objects.get(status="active")
    corrected_clips(django_user_model, tmp_path)
    settings.CLASSIFY_SYNC = False
    training_env = {"TRAINING_CORPUS_DIR": str(tiny_corpus), "TRAINING_PRESET": "cnn2d-yamnet", "TRAINING_EPOCHS": "3",
                    "MODEL_CACHE_DIR": str(tmp_path / "model-cache")}  # fmt: skip
    settings.TRAINING_PRESET, settings.TRAINING_EPOCHS = "cnn2d-yamnet", 3  # the shipped recipe
    settings.TRAINING_CORPUS_DIR = tiny_corpus
    command = [sys.executable, str(ROOT / "manage.py"), "qcluster"]
    worker = start_process("qcluster", command, worker_env(settings, **training_env))
    trainer = start_process(
        "qcluster-training",
        command,
        worker_env(settings, Q_CLUSTER_NAME=settings.TRAINING_QUEUE, **training_env),
    )
    wait_until(lambda: "loaded model" in worker.log_path.read_text(), 90, "the worker to load the model")

    assert (
        admin_client.post("/admin/classify/modelversion/train/", {"with_corrections": "on"}).status_code
        == 302
    )
    run = ModelVersion.objects.filter(status__in=["queued", "training", "candidate", "failed"])
    wait_until(
        lambda: run.filter(status__in=["candidate", "failed"]).exists(), 240, "training to end", every_s=0.5
    )
    candidate = run.get()
    assert candidate.status == "candidate", candidate.error + "\n" + trainer.log_path.read_text()[-3000:]
    assert candidate.corrections_used > 0 and candidate.correction_users == 2  # a third user held out
    assert "Epoch 3/3" in candidate.log and candidate.recipe == "cnn2d-yamnet"
    sets = candidate.comparison["sets"]
    assert sets["corpus"]["candidate"]["per_class"]["noise"]["support"] > 0
    assert sets["corrections"]["users"] and sets["corrections"]["active"]["version"] == shipped.version
    for held_out in sets.values():
        assert (
            held_out["candidate"]["version"] == candidate.version
            and held_out["candidate"]["macro_f1"] is not None
        )

    page = admin_client.get(f"/admin/classify/modelversion/{candidate.pk}/compare/").content.decode()
    assert candidate.version in page and shipped.version in page and "noise recall" in page

    promote_url = f"/admin/classify/modelversion/{candidate.pk}/promote/"
    confirm = {"confirm_worse": "on"} if registry.worse_than_active(candidate) else {}
    assert admin_client.post(promote_url, confirm).status_code == 302
    assert ModelVersion.objects.get(status="active") == candidate
    assert upload_and_wait(alice_api, tmp_path, "after-promotion.wav") == candidate.version

    assert admin_client.post(f"/admin/classify/modelversion/{shipped.pk}/promote/", {}).status_code == 302
    assert upload_and_wait(alice_api, tmp_path, "after-rollback.wav") == shipped.version
    log = worker.log_path.read_text()
    assert worker.poll() is None and log.count("loaded model") == 1  # one worker process, never restarted
    assert f"switched from model {shipped.version} to {candidate.version}" in log
