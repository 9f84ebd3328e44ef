"""Model versions: the shipped model registered as active, one training at a time, promotion
that asks before installing a worse model, and workers switching versions without a restart."""

from __future__ import annotations

import json
import shutil

import pytest
from django.db import transaction

from classify.infra import storage
from classify.model_versions import loader, registry, training
from classify.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def corpus_here(settings, tiny_corpus):
    """Training is queued only where its corpus is (a worker's check would come too late)."""
    settings.TRAINING_CORPUS_DIR = tiny_corpus


MONITOR = "Bearer tests-health-token"  # HEALTH_TOKEN in tests/settings.py


def bundled_version() -> str:
    return registry.bundled_metadata()["model_version"]


def copied_version(settings, tmp_path, name: str, comparison: dict | None = None) -> ModelVersion:
    """A candidate made of the shipped model's files under another version name (no training)."""
    folder = tmp_path / name
    shutil.copytree(
        settings.CLASSIFIER_MODEL_DIR, folder, ignore=shutil.ignore_patterns("crossval*", "uncertainty*")
    )
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["model_version"] = name
    (folder / "metadata.json").write_text(json.dumps(metadata))
    files = registry.upload_files(name, folder)
    return ModelVersion.objects.create(
        version=name, status=ModelVersion.Status.CANDIDATE, files=files, comparison=comparison or {}
    )


def comparison(candidate_f1: float, active_f1: float) -> dict:
    held_out = {"title": "Corrections of users held out of training"}
    held_out["candidate"], held_out["active"] = {"macro_f1": candidate_f1}, {"macro_f1": active_f1}
    return {"sets": {"corrections": held_out}}


def test_a_fresh_install_registers_the_shipped_model_as_active_with_its_files_in_storage():
    ModelVersion.objects.all().delete()
    registered = registry.register_shipped()
    assert registered.version == bundled_version() and registered.status == "active"
    assert storage.exists(f"{registered.files}/model.keras") and storage.exists(
        f"{registered.files}/metadata.json"
    )
    assert registry.register_shipped() is None  # once only
    assert ModelVersion.objects.filter(status="active").count() == 1


def test_promoting_a_worse_candidate_asks_first_and_records_who_forced_it(admin_user, settings, tmp_path):
    registry.register_shipped()
    worse = copied_version(settings, tmp_path, "worse-1", comparison(0.61, 0.80))
    with pytest.raises(registry.PromotionRefused, match="macro-F1 0.610 against the active model's 0.800"):
        registry.promote(worse, admin_user)
    assert ModelVersion.objects.get(status="active").version == bundled_version()
    registry.promote(worse, admin_user, force=True)
    worse.refresh_from_db()
    assert worse.status == "active" and worse.forced_by == admin_user and worse.promoted_by == admin_user
    assert ModelVersion.objects.get(version=bundled_version()).status == "retired"


def test_a_better_candidate_is_promoted_and_rolling_back_is_promoting_the_old_one(
    admin_user, settings, tmp_path
):
    registry.register_shipped()
    better = copied_version(settings, tmp_path, "better-1", comparison(0.9, 0.8))
    registry.promote(better, admin_user)
    assert ModelVersion.objects.get(status="active") == better and better.forced_by is None
    registry.promote(ModelVersion.objects.get(version=bundled_version()), admin_user)
    assert ModelVersion.objects.get(status="active").version == bundled_version()
    assert ModelVersion.objects.get(pk=better.pk).status == "retired"


def test_only_one_training_runs_at_a_time(admin_user):
    with transaction.atomic():
        training.queue_training(admin_user, with_corrections=False, enqueue=False)
    with pytest.raises(training.TrainingRefused, match="one training at a time"):
        training.queue_training(admin_user, with_corrections=True, enqueue=False)


def test_a_worker_loads_a_new_active_version_once_and_only_complete_files(admin_user, settings, tmp_path):
    settings.MODEL_CACHE_DIR = str(tmp_path / "cache")
    registry.register_shipped()
    first = loader.get_classifier()
    assert loader.get_classifier() is first  # no reload per clip
    candidate = copied_version(settings, tmp_path, "copy-2", comparison(0.9, 0.8))
    registry.promote(candidate, admin_user)
    switched = loader.get_classifier()
    assert switched.version == "copy-2" and loader.get_classifier() is switched
    cached = sorted(path.name for path in (tmp_path / "cache").iterdir())
    assert cached == ["copy-2"]  # fetched under a temporary name, renamed when complete

    broken = ModelVersion.objects.create(version="broken-3", status="candidate", files="models/nowhere")
    with pytest.raises(FileNotFoundError):
        registry.local_folder(broken.version, broken.files)
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == ["copy-2"]
    registry.promote(ModelVersion.objects.get(version=bundled_version()), admin_user)
    assert loader.get_classifier().version == bundled_version()


def test_staff_queue_training_from_admin_and_see_it_listed(admin_client):
    response = admin_client.post("/admin/classify/modelversion/train/", {"with_corrections": "on"})
    assert response.status_code == 302
    run = ModelVersion.objects.get(status="queued")
    assert run.with_corrections and run.trained_by.username == "admin"
    listing = admin_client.get("/admin/classify/modelversion/").content.decode()
    assert run.version in listing and "Train a new model" in listing
    again = admin_client.post("/admin/classify/modelversion/train/", {}, follow=True).content.decode()
    assert "one training at a time" in again


def test_people_who_are_not_staff_cannot_reach_model_versions(alice_browser):
    for url in ("/admin/classify/modelversion/", "/admin/classify/modelversion/train/"):
        assert alice_browser.get(url).status_code == 302


def test_training_without_a_corpus_is_refused_at_once_with_a_message(admin_client, settings, tmp_path):
    settings.TRAINING_CORPUS_DIR = tmp_path / "nowhere"
    page = admin_client.post("/admin/classify/modelversion/train/", {}, follow=True).content.decode()
    assert "The training corpus is not on this server" in page and "TRAINING_CORPUS_DIR" in page
    assert not ModelVersion.objects.filter(status="queued").exists()


def test_a_corpus_gone_from_the_worker_fails_the_run_with_a_message(admin_user, settings, tmp_path):
    with transaction.atomic():
        run = training.queue_training(admin_user, with_corrections=False, enqueue=False)
    settings.TRAINING_CORPUS_DIR = tmp_path / "nowhere"
    outcome = training.run_training(run.pk)  # the run's outcome, not an exception in "Failed tasks"
    run.refresh_from_db()
    assert run.status == "failed" and "is not on this worker (TRAINING_CORPUS_DIR)" in run.error
    assert outcome.startswith(f"training {run.pk}: failed: ")


def test_a_run_whose_worker_died_or_whose_task_was_lost_is_failed_so_staff_can_train_again(
    admin_user, settings, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.core.cache import cache
    from django.utils import timezone

    from classify.infra import heartbeat

    settings.TRAINING_LEASE_S = 60
    with transaction.atomic():
        run = training.queue_training(admin_user, with_corrections=False, enqueue=False)
    long_ago = timezone.now() - timedelta(seconds=61)
    ModelVersion.objects.filter(pk=run.pk).update(status="training", started_at=long_ago, beat_at=long_ago)
    assert training.fail_abandoned() == 1
    run.refresh_from_db()
    assert run.status == "failed" and run.error == training.ABANDONED

    with transaction.atomic():
        lost = training.queue_training(admin_user, with_corrections=False, enqueue=False)
    assert training.fail_abandoned() == 0  # just queued: its task may be on its way
    ModelVersion.objects.filter(pk=lost.pk).update(created_at=long_ago)
    # Issue 27: with a training worker alive, the task may sit in its prefetch (the worker busy or
    # starting): the run stays queued and its task is sent again, not failed as lost.
    heartbeat.beat(settings.TRAINING_QUEUE)
    with django_capture_on_commit_callbacks() as sent:
        assert training.fail_abandoned() == 0
    assert len(sent) == 1 and ModelVersion.objects.get(pk=lost.pk).status == "queued"
    with django_capture_on_commit_callbacks() as sent:
        assert training.fail_abandoned() == 0
    assert sent == []  # once a lease, not every tick
    # No training worker alive: nothing will take it.
    ModelVersion.objects.filter(pk=lost.pk).update(beat_at=long_ago)
    cache.delete(heartbeat._key(settings.TRAINING_QUEUE))
    assert training.fail_abandoned() == 1
    assert ModelVersion.objects.get(pk=lost.pk).error == training.LOST

    with transaction.atomic():
        alive = training.queue_training(admin_user, with_corrections=False, enqueue=False)
    ModelVersion.objects.filter(pk=alive.pk).update(
        status="training", started_at=long_ago, beat_at=timezone.now()
    )
    assert training.fail_abandoned() == 0  # renewed by its keeper a moment ago


@pytest.mark.parametrize(("clip_lease_s", "training_lease_s"), [(30, 60), (30, 5), (6, 60), (1, 5)])
def test_keepers_beat_several_times_within_the_shorter_lease(settings, clip_lease_s, training_lease_s):
    """A keeper that ticked once per lease would let a living run or clip lapse whenever one tick
    came late (CI failed a training run that was still alive that way)."""
    from classify.worker import keeper

    settings.CLASSIFY_LEASE_S, settings.TRAINING_LEASE_S = clip_lease_s, training_lease_s
    assert keeper.tick_interval_s() <= max(1.0, min(clip_lease_s, training_lease_s) / 4)
    assert keeper.tick_interval_s() >= 1.0  # and never a busy loop on the database


def test_a_version_whose_files_are_corrupt_cannot_be_promoted(settings, tmp_path, admin_user):
    from classify.infra import storage

    registry.register_shipped()
    broken = copied_version(settings, tmp_path, "broken-1", comparison(0.9, 0.8))
    storage.delete(f"{broken.files}/model.tflite")
    storage.save(f"{broken.files}/model.tflite", b"not a network at all")
    with pytest.raises(registry.PromotionRefused, match="broken-1 cannot serve"):
        registry.promote(broken, admin_user)
    assert ModelVersion.objects.get(status="active").version == bundled_version()


def test_a_worker_that_cannot_load_the_active_version_keeps_its_model_and_says_it_is_not_ready(
    settings, tmp_path, client
):
    from classify.infra import heartbeat, storage

    settings.MODEL_CACHE_DIR = str(tmp_path / "cache")
    registry.register_shipped()
    serving = loader.get_classifier()
    broken = copied_version(settings, tmp_path, "broken-2")
    storage.delete(f"{broken.files}/model.tflite")
    storage.save(f"{broken.files}/model.tflite", b"not a network at all")
    # Made active behind promotion's back (as a database restore or a bad copy could).
    ModelVersion.objects.filter(status="active").update(status="retired")
    ModelVersion.objects.filter(pk=broken.pk).update(status="active")
    assert loader.get_classifier() is serving and loader.get_classifier() is serving
    heartbeat.beat()
    worker = client.get("/readyz", HTTP_AUTHORIZATION=MONITOR).json()["checks"]["worker"]
    assert worker["ok"] is False and "could not load model broken-2" in worker["detail"]
    heartbeat.report_model_error(None)


def test_staff_without_model_permissions_cannot_compare_delete_or_hear_other_peoples_audio(
    django_user_model, alice, music_wav
):
    from django.test import Client

    from classify.clips import intake
    from tests.django_layer import as_upload

    registry.register_shipped()
    candidate = ModelVersion.objects.create(version="cand-1", status="candidate", files="models/none")
    clip = intake.create_clip(alice, as_upload(music_wav))
    staff = django_user_model.objects.create_user("sam", "sam@example.com", "a-Long-and-unusual-passw0rd")
    staff.is_staff = True
    staff.save()
    client = Client()
    client.force_login(staff)
    assert client.get(f"/admin/classify/modelversion/{candidate.pk}/compare/").status_code == 403
    assert (
        client.post(f"/admin/classify/modelversion/{candidate.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert client.get(f"/staff/clips/{clip.pk}/audio/").status_code == 403
    assert ModelVersion.objects.filter(pk=candidate.pk).exists()


def test_admin_shows_progress_in_words_and_figures_for_the_shipped_model(admin_client, admin_user):
    import time

    registry.register_shipped()
    with transaction.atomic():
        run = training.queue_training(admin_user, with_corrections=False, enqueue=False)
    listing = admin_client.get("/admin/classify/modelversion/").content.decode()
    assert "waiting for the training worker" in listing
    assert "(cross-validated, real-world sources)" in listing  # the shipped model's own figures
    now = time.time()  # epochs of 10 s from the second on; the 11th began 4 s ago
    started = {"1": now - 140, **{str(k): now - 4 - 10 * (11 - k) for k in range(2, 12)}}
    ModelVersion.objects.filter(pk=run.pk).update(
        status="training",
        progress={"stage": "training", "epoch": 11, "epochs": 40, "epoch_started_at": started},
    )
    listing = admin_client.get("/admin/classify/modelversion/").content.decode()
    assert "training: epoch 11/40 (28%), about 5 min left" in listing  # 29 x 10 s + 6 s


def test_time_left_comes_from_the_current_fits_epochs_not_its_start_up_or_an_earlier_fit(monkeypatch):
    """Issue 27: "1 h 17 min left" at epoch 2 and "38 min left" two minutes before the end of a
    25-minute run: the first epoch's start-up, and a second fit's epochs timed from the first
    fit's clock."""
    clock = {"now": 1000.0}
    monkeypatch.setattr(training.time, "time", lambda: clock["now"])
    monkeypatch.setattr(training.ProgressLog, "save", lambda self: None)
    log = training.ProgressLog(run_id=0)

    def epoch(number: int, total: int, after_s: float) -> float | None:
        clock["now"] += after_s
        log.line(f"Epoch {number}/{total}")
        return training.epochs_left_s(log.progress, clock["now"])

    assert epoch(1, 20, 0) is None
    assert epoch(2, 20, 300) is None  # one epoch seen, and it carried the start-up
    assert epoch(3, 20, 30) == pytest.approx(17 * 30 + 30)
    for k in range(4, 21):
        epoch(k, 20, 30)
    clock["now"] += 1500  # measuring, then a second, shorter fit begins
    assert epoch(1, 5, 0) is None
    epoch(2, 5, 20)
    assert epoch(3, 5, 10) == pytest.approx(2 * 10 + 10)


def test_a_failed_run_reads_as_failed_with_no_promote_form(admin_client, admin_user):
    failed = ModelVersion.objects.create(
        version="training-x", status="failed", error="Training failed: the disk is full."
    )
    compare = admin_client.get(f"/admin/classify/modelversion/{failed.pk}/compare/").content.decode()
    assert "This training run failed: Training failed: the disk is full." in compare
    assert "Candidate" not in compare and "Promote this model" not in compare
    promote = admin_client.get(
        f"/admin/classify/modelversion/{failed.pk}/promote/", follow=True
    ).content.decode()
    assert (
        "only a candidate or a retired version can be promoted" in promote and "confirm_worse" not in promote
    )
    assert (
        "failed: Training failed: the disk is full."
        in admin_client.get("/admin/classify/modelversion/").content.decode()
    )


def test_the_train_form_says_what_will_run_on_which_corpus_and_about_how_long(admin_client, tiny_corpus):
    page = admin_client.get("/admin/classify/modelversion/train/").content.decode()
    assert "24 files in 12 sources" in page and "About" in page and "minutes on this machine" in page
    # Issue 27: once a run has finished here, its own length is the estimate.
    from datetime import timedelta

    from django.utils import timezone

    finished = timezone.now()
    ModelVersion.objects.create(
        version="trained-here",
        status="candidate",
        started_at=finished - timedelta(minutes=26),
        finished_at=finished,
    )
    page = admin_client.get("/admin/classify/modelversion/train/").content.decode()
    assert "About 26 minutes on this machine (as the last run here took, measuring included)" in page


def test_a_clip_page_in_admin_shows_the_answer_a_timeline_and_percentages_and_no_save(
    admin_client, alice, music_wav
):
    from classify.clips import intake
    from tests.django_layer import as_upload, process_clip

    with transaction.atomic():
        clip = intake.create_clip(alice, as_upload(music_wav))
    process_clip(clip.pk)
    page = admin_client.get(f"/admin/classify/clip/{clip.pk}/change/").content.decode()
    assert "<strong>music</strong>" in page and "% confident" in page
    assert (
        'title="0.0–' in page and "background:#3b6fd8" in page
    )  # the timeline's first segment, in music's colour
    assert "music 9" in page or "music 8" in page  # probabilities in percent, not JSON
    assert 'name="_save"' not in page and 'name="_continue"' not in page


def test_a_failed_training_process_is_told_in_a_sentence_not_a_traceback():
    """Issue 27: a corpus file removed during a run failed it with "return os.stat(self, ...) /
    FileNotFoundError" in admin. The run now says what happened."""
    lines = [
        "[12:00:01] training",
        "Traceback (most recent call last):",
        '  File "/usr/lib/python3.11/pathlib.py", line 1013, in stat',
        "    return os.stat(self, follow_symlinks=follow_symlinks)",
        "FileNotFoundError: [Errno 2] No such file or directory: '/corpus/noise/rain/a.ogg'",
    ]
    said = training.child_failure(lines, 1)
    assert said == "a file it needed went missing during the run (/corpus/noise/rain/a.ogg); start it again."
    assert "os.stat" not in said and "Traceback" not in said
    assert training.child_failure(["ValueError: no music sources"], 1).endswith(
        "ValueError: no music sources"
    )
    assert "status 9" in training.child_failure(["[12:00:01] training"], 9)


def test_the_compare_page_counts_in_words_and_says_nothing_agreed_about_nothing(
    settings, tmp_path, admin_client
):
    """Issue 27: "corrections of 1 users", and "They agree on every recording" about zero."""
    registry.register_shipped()
    empty = comparison(0.9, 0.9)
    held_out = empty["sets"]["corrections"]
    held_out.update(recordings=0, disagreements=[])
    held_out["active"]["per_class"] = held_out["candidate"]["per_class"] = {}
    candidate = copied_version(settings, tmp_path, "cand-empty", empty)
    ModelVersion.objects.filter(pk=candidate.pk).update(corrections_used=1, correction_users=1)
    page = admin_client.get(f"/admin/classify/modelversion/{candidate.pk}/compare/").content.decode()
    assert "1 correction from\n1 user)" in page
    assert "They agree on every recording" not in page and "nothing here to compare them on" in page


def test_a_run_marked_failed_never_turns_into_a_candidate(admin_user):
    """Issue 27: a killed training worker's child trained on, and its run, already marked
    failed, later became a candidate."""
    with transaction.atomic():
        run = training.queue_training(admin_user, with_corrections=False, enqueue=False)
    ModelVersion.objects.filter(pk=run.pk).update(status="failed", error="The worker stopped.")
    assert not training.become_candidate(run.pk, version="late-1")
    assert ModelVersion.objects.get(pk=run.pk).status == "failed"
    ModelVersion.objects.filter(pk=run.pk).update(status="training")
    assert training.become_candidate(run.pk, version="on-time-1")
    assert ModelVersion.objects.get(pk=run.pk).status == "candidate"


def test_a_training_child_dies_with_the_worker_that_started_it(tmp_path):
    """Issue 27: a training worker killed with kill -9 left its child process training on."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    from tests.conftest import ROOT

    parent = subprocess.Popen(
        [
            sys.executable, "-c",
            "import sys, time, django; django.setup()\n"
            "from classify.model_versions.training import start_child\n"
            "child = start_child([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
            "print(child.pid, flush=True); time.sleep(120)",
        ],
        cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    child = psutil.Process(int(parent.stdout.readline()))
    deadline = time.monotonic() + 10  # setpriv has set the signal once it has become the command
    while "setpriv" in child.cmdline()[0] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert child.is_running() and "setpriv" not in child.cmdline()[0]
    os.kill(parent.pid, signal.SIGKILL)  # the worker dies
    parent.wait()
    deadline = time.monotonic() + 10
    while child.is_running() and child.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
