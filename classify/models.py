"""Clips people upload and the classifications each model run gave them.

A clip holds the file and its processing state; results live in their own table, one row per
(clip, model version), so re-running a clip with a newer model keeps the old answer. Queueing and
processing live in classify/clips/ and classify/worker/, not here.
"""

from __future__ import annotations

import uuid
from pathlib import Path, PurePosixPath
from typing import Self

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.urls import reverse
from django.utils import timezone


def clip_upload_path(clip: Clip, filename: str) -> str:
    """clips/<user id>/<uuid><suffix>: never the user's own file name on disk."""
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"clips/{clip.owner_id}/{uuid.uuid4().hex}{suffix}"


class OwnedQuerySet(models.QuerySet):
    """Rows with an `owner`: `for_user` is the one ownership gate every view and API queryset
    goes through (anonymous users own nothing)."""

    def for_user(self, user: AbstractBaseUser | AnonymousUser) -> Self:
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)


class ClipQuerySet(OwnedQuerySet):
    def with_result(self) -> ClipQuerySet:
        return self.select_related("result")

    def for_listing(self) -> ClipQuerySet:
        """History rows: the result joined, the waveform (kilobytes per clip) left behind."""
        return self.select_related("result").defer("waveform", "progress")


class Clip(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clips")
    file = models.FileField(upload_to=clip_upload_path, max_length=255)
    original_filename = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    duration_s = models.FloatField(null=True, blank=True)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    # [[min, max], ...] per column, drawn as the waveform on the clip page.
    waveform = models.JSONField(default=list, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # While processing: {"done_s", "total_s", "rate", "left_s", "segments": the timeline so far},
    # written every few seconds by the worker holding the lease (classify/clips/state.py).
    progress = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # While processing: the worker's lease (classify/clips/state.py), renewed as it works, and which
    # worker (host:pid) holds it.
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=120, blank=True)
    # The newest classification, for listing and filtering without a join per row.
    result = models.OneToOneField(
        "Classification", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Where the clip stands in its owner's event stream: a database trigger (migration 0013) sets
    # it from one sequence whenever the status, progress or result changes, and announces the
    # change (NOTIFY clip_events); Django never writes it (classify/events/).
    event_seq = models.BigIntegerField(default=0, editable=False)

    objects = ClipQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="clip_owner_newest"),
            models.Index(fields=["owner", "status"], name="clip_owner_status"),
            models.Index(fields=["status", "started_at"], name="clip_status_started"),
            models.Index(fields=["status", "lease_expires_at"], name="clip_status_lease"),
            models.Index(fields=["owner", "event_seq"], name="clip_owner_events"),
        ]

    def __str__(self) -> str:
        return self.original_filename

    def get_absolute_url(self) -> str:
        return reverse("clip-detail", args=[self.pk])

    @property
    def label(self) -> str | None:
        return self.result.label if self.result is not None else None


class Classification(models.Model):
    """What one model version said about one clip."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="classifications")
    model_version = models.CharField(max_length=100)
    label = models.CharField(max_length=16, db_index=True)
    confidence = models.FloatField()
    probabilities = models.JSONField()
    processing_s = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)
    # The owner's latest correction of the whole clip ("" when none): see Correction.
    corrected_label = models.CharField(max_length=16, blank=True)
    # The model's top two clip-level classes were within its uncertainty margin.
    model_uncertain = models.BooleanField(default=False)
    # What the clip is shown as, by the one rule of classify/clips/summary.py (kept up to date
    # when the result is stored and after each correction; filters and exports read these).
    shown_label = models.CharField(max_length=16, blank=True, db_index=True)
    mixed = models.BooleanField(default=False)
    uncertain = models.BooleanField(default=False)
    shares = models.JSONField(default=dict, blank=True)  # seconds per timeline label
    # Where speech and where music are heard, as the model said: {"speech": [{"start", "end"}],
    # "music": [{"start", "end", "level_db"?}]} (ml/layers.py).
    tracks = models.JSONField(default=dict, blank=True)
    # The owner said there is no music in this clip (a Correction keeps who and when).
    no_music = models.BooleanField(default=False)
    # As shown, by classify/clips/summary.py's rule (kept with the other summary fields):
    has_music = models.BooleanField(default=False, db_index=True)
    families = models.JSONField(default=list, blank=True)  # segments' families, in time order
    music_under_s = models.FloatField(default=0.0)  # seconds of music heard under speech
    music_level_db = models.FloatField(null=True, blank=True)  # its level relative to the speech

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["clip", "model_version"], name="one_result_per_model")]

    def __str__(self) -> str:
        return f"{self.label} ({self.model_version})"

    @property
    def candidates(self) -> list[str]:
        """The two most likely classes, most likely first."""
        ranked = sorted(self.probabilities.items(), key=lambda item: item[1], reverse=True)
        return [name for name, _ in ranked[:2]]


class Segment(models.Model):
    """One run of the timeline: from `start` to `end` seconds the clip is `label`."""

    classification = models.ForeignKey(Classification, on_delete=models.CASCADE, related_name="segments")
    index = models.PositiveIntegerField()
    start = models.FloatField()
    end = models.FloatField()
    label = models.CharField(max_length=16)
    probabilities = models.JSONField()
    corrected_label = models.CharField(max_length=16, blank=True)
    uncertain = models.BooleanField(default=False)
    family = models.CharField(max_length=16, blank=True)  # ml/families.py; "" for silence
    tags = models.JSONField(default=list, blank=True)  # [{"name", "score"}]: AudioSet classes

    class Meta:
        ordering = ["classification", "index"]
        constraints = [models.UniqueConstraint(fields=["classification", "index"], name="segment_order")]

    def __str__(self) -> str:
        return f"{self.start:.1f}-{self.end:.1f}s {self.label}"


class Correction(models.Model):
    """A person saying the model was wrong: for the whole clip, or for one segment of it.
    Kept with the label the model gave, so staff can export them for retraining."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="corrections")
    classification = models.ForeignKey(Classification, on_delete=models.CASCADE, related_name="corrections")
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.CASCADE, related_name="corrections"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="corrections")
    old_label = models.CharField(max_length=16)
    new_label = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["clip", "-created_at"], name="correction_clip_newest")]

    def __str__(self) -> str:
        segment = self.segment
        where = f"{segment.start:.1f}-{segment.end:.1f}s" if segment is not None else "whole clip"
        return f"{self.clip} ({where}): {self.old_label} -> {self.new_label}"


class LiveSession(models.Model):
    """A recording being classified while it is made: its audio so far (LiveChunk rows), the
    windows classified so far, and, once finished, the clip it became."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        FINISHED = "finished", "Finished"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_sessions"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    last_chunk_at = models.DateTimeField(default=timezone.now)
    received_s = models.FloatField(default=0.0)
    classified_s = models.FloatField(default=0.0)
    # [{"start", "end", "label", "probabilities", "uncertain"}, ...], times from the session's start
    windows = models.JSONField(default=list, blank=True)
    # Where speech and music are heard so far: {"speech": [...], "music": [...]} (ml/layers.py).
    tracks = models.JSONField(default=dict, blank=True)
    clip = models.ForeignKey(Clip, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["status", "last_chunk_at"], name="live_status_last_chunk")]

    def __str__(self) -> str:
        return f"live {self.id} ({self.status}, {self.received_s:.0f} s)"


class LiveChunk(models.Model):
    """A piece of a live session's audio (16 kHz mono 16-bit PCM), in the database so that the
    web process that receives it and the worker that classifies it need share no disk."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="chunks")
    start_sample = models.BigIntegerField()
    samples = models.PositiveIntegerField()
    pcm = models.BinaryField()

    class Meta:
        ordering = ["session", "start_sample"]
        constraints = [
            models.UniqueConstraint(fields=["session", "start_sample"], name="live_chunk_order"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} @{self.start_sample}"


class ModelVersion(models.Model):
    """A trained classifier: where its files are, what it learnt from, how it measured against
    the model that was active when it was trained, and whether it serves now (exactly one does).
    Logic lives in classify/model_versions/."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued for training"
        TRAINING = "training", "Training"
        CANDIDATE = "candidate", "Candidate"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"

    version = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    recipe = models.CharField(max_length=40, blank=True)
    corpus_fingerprint = models.CharField(max_length=64, blank=True)
    corrections_used = models.PositiveIntegerField(default=0)
    correction_users = models.PositiveIntegerField(default=0)
    with_corrections = models.BooleanField(default=False)
    # Storage folder holding model.tflite, model.keras and metadata.json (classify/infra/storage.py).
    files = models.CharField(max_length=200, blank=True)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # {"stage": "...", "epoch": n, "epochs": m} while training; the run's printed lines.
    progress = models.JSONField(default=dict, blank=True)
    # Renewed every few seconds by the training worker's keeper; a run whose beat is older than
    # TRAINING_LEASE_S lost its worker and is marked failed (classify/model_versions/training.py).
    beat_at = models.DateTimeField(null=True, blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # Its figures beside the active model's on the same held-out data (ml/training/compare.py).
    comparison = models.JSONField(default=dict, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when staff promoted it although it scored worse than the model it replaced.
    forced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="active"), name="one_active_model"
            ),
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="training"), name="one_training_run"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} ({self.status})"


class ResumableUpload(models.Model):
    """A big upload arriving in parts over the tus protocol (classify/clips/resumable.py): the
    bytes so far wait in a local file; the last part turns it into an ordinary clip."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=255)
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OwnedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.filename}: {self.offset} of {self.length} bytes"

    @property
    def part_path(self) -> Path:
        """Where its bytes so far wait (RESUMABLE_DIR, on the web machine)."""
        return Path(settings.RESUMABLE_DIR) / f"{self.pk}.part"
