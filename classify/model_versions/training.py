"""Train a candidate model from the corpus and (optionally) users' corrections, in a worker, one
at a time, and measure it beside the active model on the same held-out data.

With corrections, each user's corrected clips and segments join the corpus as a source of their
own (ml.training.train's split keeps a user on one side); a share of the users (TRAINING_HELD_OUT_USERS,
at least one when two or more corrected something) is kept out of training entirely and is the
second held-out set. The first is the corpus sources ml.training.train held out as its test split.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from classify.clips import corrections, summary
from classify.infra import queue
from classify.infra.heartbeat import last_heartbeat_age_s
from classify.model_versions import registry
from classify.models import Correction, ModelVersion

logger = logging.getLogger(__name__)

_EPOCH = re.compile(r"^Epoch (\d+)/(\d+)")


class TrainingRefused(Exception):
    """Training cannot start now; the message is for staff."""


def queue_training(
    by, with_corrections: bool, preset: str | None = None, epochs: int | None = None, enqueue: bool = True
) -> ModelVersion:
    """A row for the run, queued for a worker (never run in a web request); enqueue=False for a
    caller that runs it itself (`train_model --now`)."""
    corpus = Path(settings.TRAINING_CORPUS_DIR)
    if not corpus_present(corpus):
        raise TrainingRefused(
            f"The training corpus is not on this server: {corpus} is missing or empty "
            "(set TRAINING_CORPUS_DIR to a folder of music/, speech/ and noise/)."
        )
    busy = ModelVersion.objects.filter(status__in=[ModelVersion.Status.QUEUED, ModelVersion.Status.TRAINING])
    if (running := busy.first()) is not None:
        raise TrainingRefused(f"{running.version} is already {running.status}: one training at a time.")
    run = ModelVersion.objects.create(
        version=f"training-{timezone.now():%Y%m%d-%H%M%S}-{int(time.time() * 1000) % 1000:03d}",
        recipe=preset or settings.TRAINING_PRESET,
        with_corrections=with_corrections,
        trained_by=by,
        progress={"stage": "queued", "epochs": epochs or settings.TRAINING_EPOCHS or None},
    )
    if not enqueue:
        return run
    send(run.pk)
    return run


def send(run_id: int) -> None:
    """Queue the run's task (a second one is harmless: the task claims its run only if queued)."""
    queue.enqueue(
        queue.TRAIN_MODEL, run_id, label=f"train model {run_id}", timeout=settings.TRAINING_TIMEOUT_S
    )


def corpus_present(corpus: Path) -> bool:
    return corpus.is_dir() and any(corpus.iterdir())


def plan() -> dict:
    """What a training run queued now would do, for the train form: recipe, corpus, how long."""
    corpus = Path(settings.TRAINING_CORPUS_DIR)
    corpus_ok = corpus_present(corpus)
    files = sources = 0
    if corpus_ok:
        folders = [folder for label in corpus.iterdir() if label.is_dir() for folder in label.iterdir()]
        sources = sum(1 for folder in folders if folder.is_dir())
        files = sum(1 for folder in folders if folder.is_dir() for path in folder.iterdir() if path.is_file())
    try:
        shipped_s = registry.bundled_metadata().get("training_seconds", 900)
    except (FileNotFoundError, ValueError):
        shipped_s = 900
    # The last run that finished here says best how long one takes on this machine.
    last = (
        ModelVersion.objects.filter(started_at__isnull=False, finished_at__isnull=False)
        .exclude(status=ModelVersion.Status.FAILED)
        .order_by("-finished_at")
        .first()
    )
    last_s = (
        (last.finished_at - last.started_at).total_seconds()
        if last and last.finished_at and last.started_at
        else None
    )
    return {
        "last_minutes": round(last_s / 60) if last_s else None,
        "recipe": settings.TRAINING_PRESET,
        "epochs": settings.TRAINING_EPOCHS or None,
        "corpus": corpus,
        "corpus_ok": corpus_ok,
        "files": files,
        "sources": sources,
        "shipped_minutes": round(shipped_s / 60),
        # lower priority, then measuring both models
        "minutes": round(last_s / 60) if last_s else round(shipped_s / 60 * 1.3 + 2),
        "limit_hours": round(settings.TRAINING_TIMEOUT_S / 3600, 1),
    }


def describe_progress(run: ModelVersion) -> str:
    """A run's progress in words: stage, epoch k/N, percent and time left while training."""
    progress = run.progress or {}
    if run.status == ModelVersion.Status.QUEUED:
        return "waiting for the training worker"
    if run.status == ModelVersion.Status.FAILED:
        return "failed: " + (run.error.split("\n")[0][:160] or "no reason recorded")
    if run.status != ModelVersion.Status.TRAINING:
        return progress.get("stage", "") if str(progress.get("stage", "")).startswith("done") else ""
    stage = str(progress.get("stage", "starting"))
    epoch, epochs = progress.get("epoch"), progress.get("epochs")
    if not (epoch and epochs):
        return stage
    text = f"training: epoch {epoch}/{epochs} ({100 * epoch / epochs:.0f}%)"
    left_s = epochs_left_s(progress, time.time())
    if left_s is not None:
        text += f", about {summary.spoken_seconds(left_s)} left"
    return text


def epochs_left_s(progress: dict, now: float) -> float | None:
    """The time the epochs of the current fit still take: epochs left times the mean epoch since
    the fit's second one began (the first carries the network's start-up), and what the running
    one still takes. None until an epoch's length is known (issue 27: the first epoch alone,
    or a clock carried over from an earlier fit, said "1 h 17 min left" of a 25-minute run)."""
    epoch, epochs = progress.get("epoch"), progress.get("epochs")
    started = progress.get("epoch_started_at") or {}
    if not (epoch and epochs) or epoch <= 2 or not {"2", str(epoch)} <= started.keys():
        return None
    per_epoch_s = (started[str(epoch)] - started["2"]) / (epoch - 2)
    this_one_left_s = max(0.0, per_epoch_s - (now - started[str(epoch)]))
    return (epochs - epoch) * per_epoch_s + this_one_left_s


class ProgressLog:
    """ml.training.train's printed lines, into the run's log and progress (stage, epoch) as they come."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.lines: list[str] = []
        self.progress: dict = {}

    def line(self, line: str) -> None:
        if not line.strip():
            return
        epoch = _EPOCH.match(line)
        if epoch:
            number, total = int(epoch[1]), int(epoch[2])
            if number <= (self.progress.get("epoch") or 0) or total != self.progress.get("epochs"):
                self.progress["epoch_started_at"] = {}  # a new fit: its own clock
            self.progress.update(stage="training", epoch=number, epochs=total)
            self.progress.setdefault("epoch_started_at", {})[str(number)] = time.time()
        elif line.startswith("["):
            self.progress["stage"] = line.split("] ", 1)[-1][:120]
        self.lines.append(line)
        self.save()

    def stage(self, name: str) -> None:
        self.progress["stage"] = name
        self.line(f"[{time.strftime('%H:%M:%S')}] {name}")

    def save(self) -> None:
        ModelVersion.objects.filter(pk=self.run_id).update(
            progress=self.progress, log="\n".join(self.lines[-2000:])
        )


def held_out_users(user_ids: list[int]) -> set[int]:
    """Every k-th user by id (k from TRAINING_HELD_OUT_USERS), at least one of two or more."""
    if len(user_ids) < 2:
        return set()
    count = max(1, round(len(user_ids) * settings.TRAINING_HELD_OUT_USERS))
    ordered = sorted(user_ids)
    step = len(ordered) / count
    return {ordered[int(i * step)] for i in range(count)}


def build_corpus(root: Path, corpus: Path, training_users: set[int]) -> int:
    """root/<label>/<source>: the corpus's sources (linked), plus the training users' corrections
    exported as sources of their own; one manifest for both. Returns the corrections used."""
    for label_dir in corpus.iterdir():
        if label_dir.is_dir():  # real folders, linked files (pathlib's rglob skips linked folders)
            for path in label_dir.rglob("*"):
                if path.is_file():
                    link = root / label_dir.name / path.relative_to(label_dir)
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(path.resolve())
    exported = root / ".corrections"
    summary = corrections.export(exported, owners=training_users) if training_users else None
    rows = []
    if (corpus / "manifest.csv").is_file():
        with (corpus / "manifest.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    if summary:
        for label_dir in exported.iterdir():
            if label_dir.is_dir():
                for source in label_dir.iterdir():
                    shutil.move(str(source), root / label_dir.name / source.name)
        with summary.manifest.open(newline="") as handle:
            rows += [{"path": row["path"], "origin": row["origin"]} for row in csv.DictReader(handle)]
        shutil.rmtree(exported)
    with (root / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "origin"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return summary.written if summary else 0


def corpus_test_items(corpus: Path, test_sources: list[str]):
    from ml.training.compare import Item
    from ml.training.data import scan_corpus

    wanted = set(test_sources)
    for corpus_file in scan_corpus(corpus):
        if corpus_file.source in wanted:
            key = str(corpus_file.path.relative_to(corpus))
            yield Item(corpus_file.path, corpus_file.label, key)


def correction_items(held_out: set[int], folder: Path):
    """Held-out users' corrections: each corrected clip or segment, with the corrected label."""
    from ml.training.compare import Item

    if not held_out:
        return []
    summary = corrections.export(folder, owners=held_out)
    with summary.manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Item(
            folder / row["path"],
            row["label"],
            f"clip {row['clip_id']}, {row['start']}-{row['end']} s",
            ref={"clip": int(row["clip_id"]), "start": float(row["start"]), "end": float(row["end"])},
        )
        for row in rows
    ]


def measure(
    candidate_folder: Path, corpus: Path, test_sources: list[str], held_out: set[int], work: Path
) -> dict:
    """Candidate and active model on both held-out sets (ml/training/compare.py)."""
    from classify.model_versions.loader import wanted_version
    from ml.inference import Classifier
    from ml.training.compare import compare

    wanted = wanted_version()
    active_folder = settings.CLASSIFIER_MODEL_DIR if wanted is None else registry.local_folder(*wanted)
    active, candidate = Classifier.load(active_folder), Classifier.load(candidate_folder)
    heard = set(active.metadata.get("split", {}).get("train", [])) | set(
        active.metadata.get("split", {}).get("validation", [])
    )
    # ml.training.train's test split may hold training users' corrections too: this set is the corpus's.
    test_sources = [name for name in test_sources if not name.split("/")[-1].startswith("user-")]
    corpus_set = compare(active, candidate, corpus_test_items(corpus, test_sources))
    corpus_set.update(
        title="Corpus sources held out of the candidate's training",
        sources=test_sources,
        active_heard=sorted(heard & set(test_sources)),
    )
    corrections_set = compare(active, candidate, correction_items(held_out, work / "held-out"))
    corrections_set.update(title="Corrections of users held out of training", users=sorted(held_out))
    return {"sets": {"corpus": corpus_set, "corrections": corrections_set}}


def train_in_child(argv: list[str], progress: ProgressLog) -> None:
    """`python -m ml.training.train ARGV` as a child process (its memory goes when it ends, and a
    django-q2 worker may not fork multiprocessing children), its lines into the progress. Killed
    if the task is stopped (a timeout is a SystemExit raised here)."""
    with start_child([sys.executable, "-m", "ml.training.train", *argv]) as child:
        try:
            for line in child.stdout or ():
                progress.line(line.rstrip())
            code = child.wait()
        finally:
            if child.poll() is None:
                child.kill()
    if code != 0:
        raise RuntimeError(child_failure(progress.lines, code))


def start_child(command: list[str]) -> subprocess.Popen:
    """The command as a child that dies with this process, however this one ends (issue 27: a
    training worker killed with kill -9 left its child training on for the rest of the run):
    util-linux's setpriv sets the parent-death signal before it runs the command."""
    setpriv = shutil.which("setpriv")
    if setpriv:
        command = [setpriv, "--pdeathsig", "KILL", *command]
    return subprocess.Popen(
        command,
        cwd=settings.BASE_DIR,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


_running: int | None = None  # the run this process trains, renewed by its keeper


def renew_running() -> None:
    if (run_id := _running) is not None:
        ModelVersion.objects.filter(pk=run_id, status=ModelVersion.Status.TRAINING).update(
            beat_at=timezone.now()
        )


ABANDONED = (
    "The worker training this model stopped before it finished (a restart or a crash); you can train again."
)
LOST = (
    "The training task was lost before a worker took it (no training worker is running); you can train again."
)


def fail_abandoned() -> int:
    """Fail training runs whose worker died (beat older than TRAINING_LEASE_S), so admin can train
    again. A run queued longer than that while the training queue is empty: with a training
    worker alive (its heartbeat), its task may sit in that worker's prefetch (a worker busy or
    starting) or be gone, so it is sent again (the claim skips a duplicate) and the run stays
    queued; with none alive, nothing will take it, and it fails as lost. Returns how many failed."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.TRAINING_LEASE_S)
    failed = (
        ModelVersion.objects.filter(status=ModelVersion.Status.TRAINING)
        .annotate(seen=Coalesce("beat_at", "started_at", "created_at"))
        .filter(seen__lt=cutoff)
        .update(status=ModelVersion.Status.FAILED, error=ABANDONED, finished_at=now)
    )
    stale = (
        ModelVersion.objects.filter(status=ModelVersion.Status.QUEUED)
        .annotate(sent=Coalesce("beat_at", "created_at"))  # beat_at: when it was last sent again
        .filter(sent__lt=cutoff)
    )
    if not stale.exists() or queue.broker(settings.TRAINING_QUEUE).queue_size():
        return failed
    worker_age_s = last_heartbeat_age_s(settings.TRAINING_QUEUE)
    if worker_age_s is None or worker_age_s > settings.TRAINING_LEASE_S:
        return failed + stale.update(status=ModelVersion.Status.FAILED, error=LOST, finished_at=now)
    for run_id in stale.values_list("pk", flat=True):
        with transaction.atomic():
            if ModelVersion.objects.filter(pk=run_id, status=ModelVersion.Status.QUEUED).update(beat_at=now):
                send(run_id)
                logger.warning("training run %s sent again: its task was not in the queue", run_id)
    return failed


_RAISED = re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception|Exit)): (.*)$")


def child_failure(lines: list[str], code: int) -> str:
    """A sentence for a training process that failed: what it raised, in words, never a traceback's
    code lines ("return os.stat(self, ...)")."""
    raised = next((m for line in reversed(lines) if (m := _RAISED.match(line.strip()))), None)
    if raised is None:
        return f"the training process stopped with status {code} before it finished."
    kind, detail = raised.groups()
    if kind == "FileNotFoundError":
        missing = detail.rsplit(": ", 1)[-1].strip("'\"")
        return f"a file it needed went missing during the run ({missing}); start it again."
    return f"the training process stopped: {kind}: {detail}"


def become_candidate(run_id: int, **fields: Any) -> bool:
    """Only a run still training becomes a candidate: one marked failed meanwhile (its worker was
    taken for dead) stays failed, whatever a process that went on training finished."""
    return bool(
        ModelVersion.objects.filter(pk=run_id, status=ModelVersion.Status.TRAINING).update(
            status=ModelVersion.Status.CANDIDATE, **fields
        )
    )


def run_training(run_id: int) -> str:
    """The task: claim the run, train with ml.training.train, store the files, measure, mark candidate."""
    global _running
    try:
        now = timezone.now()
        claimed = ModelVersion.objects.filter(pk=run_id, status=ModelVersion.Status.QUEUED).update(
            status=ModelVersion.Status.TRAINING, started_at=now, beat_at=now
        )
    except IntegrityError:
        claimed = 0
    if not claimed:
        return f"training {run_id}: skipped (not queued, or another run is training)"
    _running = run_id
    try:
        return _train(run_id)
    finally:
        _running = None


def _train(run_id: int) -> str:
    run = ModelVersion.objects.get(pk=run_id)
    progress = ProgressLog(run_id)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="training-") as work_dir:
            work = Path(work_dir)
            corpus = Path(settings.TRAINING_CORPUS_DIR)
            if not corpus.is_dir():
                raise RuntimeError(
                    f"the training corpus {corpus} is not on this worker (TRAINING_CORPUS_DIR)"
                )
            users = (
                sorted(set(Correction.objects.values_list("clip__owner_id", flat=True)))
                if run.with_corrections
                else []
            )
            held_out = held_out_users(users)
            progress.stage(
                f"building the corpus: {corpus} + corrections of {len(users) - len(held_out)} users"
            )
            used = build_corpus(work / "corpus", corpus, set(users) - held_out)
            argv = ["--corpus", str(work / "corpus"), "--out", str(work / "model"), "--preset", run.recipe]
            if run.progress.get("epochs"):
                argv += ["--epochs", str(run.progress["epochs"])]
            train_in_child(argv, progress)
            metadata = json.loads((work / "model" / "metadata.json").read_text())
            version = metadata["model_version"]
            if ModelVersion.objects.filter(version=version).exclude(pk=run_id).exists():
                version = f"{version}-{run_id}"
                metadata["model_version"] = version
                (work / "model" / "metadata.json").write_text(json.dumps(metadata, indent=2))
            progress.stage("storing the model files")
            files = registry.upload_files(version, work / "model")
            progress.stage("measuring beside the active model")
            comparison = measure(work / "model", corpus, metadata["split"]["test"], held_out, work)
        became = become_candidate(
            run_id,
            version=version,
            files=files,
            corpus_fingerprint=metadata.get("corpus_fingerprint", ""),
            corrections_used=used,
            correction_users=len(users) - len(held_out),
            comparison=comparison,
            finished_at=timezone.now(),
            progress={**progress.progress, "stage": f"done in {time.monotonic() - started:.0f} s"},
        )
        if not became:
            logger.warning("training run %s finished after it was marked failed: not a candidate", run_id)
            return f"training {run_id}: finished after it was marked failed; left failed"
        return f"training {run_id}: candidate {version}"
    except BaseException as error:  # a task timeout is a SystemExit: the run still ends, marked
        logger.exception("training run %s failed", run_id)
        message = (
            f"Training took longer than the limit of {settings.TRAINING_TIMEOUT_S} s."
            if isinstance(error, SystemExit)
            else f"Training failed: {error}"
        )
        ModelVersion.objects.filter(pk=run_id).update(
            status=ModelVersion.Status.FAILED, error=message, finished_at=timezone.now()
        )
        if not isinstance(error, Exception):
            raise  # a timeout or an interrupt: the worker must stop the task
        # An ordinary failure is the run's outcome, stated on its row; not a traceback in the
        # queue's "Failed tasks".
        return f"training {run_id}: failed: {error}"
