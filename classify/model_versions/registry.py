"""Which model serves, where its files are, and switching between versions without a restart.

Every version's files (model.tflite, model.keras, metadata.json) live in the file storage, beside the uploads
(`models/<version>/`). Exactly one version is active. A worker asks for the active version as it
starts each clip (one small query) and loads a different one only when it changed: files are
fetched into a local cache folder under a temporary name and renamed into place when complete,
so no worker ever loads a half-written model. `ml/` still sees only a folder of model files.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from classify.infra import storage
from classify.models import ModelVersion

logger = logging.getLogger(__name__)

# What a version serves with (the Keras file stays beside it for reference and retraining).
MODEL_FILES = ("model.tflite", "model.keras", "metadata.json")


class PromotionRefused(Exception):
    """A promotion that needs an explicit confirmation (or cannot be done); message for staff."""


def storage_folder(version: str) -> str:
    return f"models/{version}"


def bundled_metadata() -> dict:
    return json.loads((Path(settings.CLASSIFIER_MODEL_DIR) / "metadata.json").read_text())


def upload_files(version: str, folder: Path) -> str:
    """Store a model folder's files under models/<version>/ (replacing older copies)."""
    target = storage_folder(version)
    for name in MODEL_FILES:
        key = f"{target}/{name}"
        storage.delete(key)
        stored = storage.save(key, (folder / name).read_bytes())
        if stored != key:
            raise RuntimeError(f"the storage kept {stored} instead of {key}")
    return target


def register_shipped() -> ModelVersion | None:
    """post_migrate: a fresh install gets the model in CLASSIFIER_MODEL_DIR as its active version
    (files copied to the storage); later migrations leave existing versions alone."""
    if ModelVersion.objects.exists():
        return None
    try:
        metadata = bundled_metadata()
    except FileNotFoundError:
        logger.warning("no model in %s to register", settings.CLASSIFIER_MODEL_DIR)
        return None
    version = metadata["model_version"]
    files = upload_files(version, Path(settings.CLASSIFIER_MODEL_DIR))
    crossval = metadata.get("crossval", {})
    return ModelVersion.objects.create(
        version=version,
        status=ModelVersion.Status.ACTIVE,
        recipe=metadata.get("preset", ""),
        corpus_fingerprint=metadata.get("corpus_fingerprint", ""),
        files=files,
        finished_at=timezone.now(),
        promoted_at=timezone.now(),
        comparison={
            "shipped": True,
            "crossval": crossval,
            "crossval_combined": metadata.get("crossval_combined", {}),
        },
        log="Registered from the model shipped with the code.",
    )


def active() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).only("version", "files").first()


def local_folder(version: str, files: str) -> Path:
    """A local folder with the version's files: the bundled folder when it holds this version,
    else the cache, filled from the storage (under a temporary name, then renamed)."""
    bundled = Path(settings.CLASSIFIER_MODEL_DIR)
    try:
        if bundled_metadata().get("model_version") == version:
            return bundled
    except FileNotFoundError:
        pass
    cache = Path(settings.MODEL_CACHE_DIR) / version
    if (cache / "metadata.json").is_file():
        return cache
    partial = cache.with_name(f".{version}.{uuid.uuid4().hex}")
    partial.mkdir(parents=True)
    try:
        for name in MODEL_FILES:
            with storage.local_copy(f"{files}/{name}") as path:
                shutil.copyfile(path, partial / name)
        try:
            os.rename(partial, cache)
        except OSError:  # another process put it in place first
            if not (cache / "metadata.json").is_file():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return cache


def worse_than_active(candidate: ModelVersion) -> list[str]:
    """Where the candidate scored below the model that was active when it was measured."""
    reasons = []
    for held_out in candidate.comparison.get("sets", {}).values():
        mine, theirs = held_out["candidate"].get("macro_f1"), held_out["active"].get("macro_f1")
        if mine is not None and theirs is not None and mine < theirs:
            reasons.append(
                f"{held_out['title']}: macro-F1 {mine:.3f} against the active model's {theirs:.3f}"
            )
    return reasons


def check_serves(version: ModelVersion) -> None:
    """Load the version's files as a worker would and classify a few seconds of a generated
    chord: a version whose files are missing or corrupt never becomes active. (No TensorFlow:
    both networks run under LiteRT, so the web process can do this.)"""
    import numpy as np

    from ml.inference import Classifier

    rate = 16_000
    t = np.arange(3 * rate) / rate
    chord = np.sum([0.1 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)], axis=0).astype(
        np.float32
    )
    try:
        Classifier.load(local_folder(version.version, version.files)).classify_samples(chord)
    except Exception as error:  # any failure to load or run is a reason to refuse, stated
        logger.warning("model %s does not serve: %r", version.version, error)
        raise PromotionRefused(
            f"{version.version} cannot serve: its files do not load or do not classify ({type(error).__name__})."
        ) from None


def promote(candidate: ModelVersion, by, force: bool = False) -> ModelVersion:
    """Make `candidate` the active model (rolling back is promoting an older version). One that
    scored worse than the active model on a held-out set needs force=True, which is recorded."""
    if candidate.status not in (ModelVersion.Status.CANDIDATE, ModelVersion.Status.RETIRED):
        raise PromotionRefused(f"{candidate.version} is {candidate.get_status_display().lower()}.")
    reasons = worse_than_active(candidate)
    if reasons and not force:
        raise PromotionRefused("It scored worse than the active model: " + "; ".join(reasons) + ".")
    check_serves(candidate)
    with transaction.atomic():
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).update(
            status=ModelVersion.Status.RETIRED
        )
        ModelVersion.objects.filter(pk=candidate.pk).update(
            status=ModelVersion.Status.ACTIVE,
            promoted_at=timezone.now(),
            promoted_by=by,
            forced_by=by if reasons else None,
        )
    logger.info("model %s promoted by %s%s", candidate.version, by, " (forced)" if reasons else "")
    candidate.refresh_from_db()
    return candidate


def shipped_figures(version: ModelVersion) -> dict | None:
    """The shipped model's cross-validated figures on real-world sources (held out by source,
    ml/results/), for admin: the served combination's when recorded, else the network's own."""
    comparison = version.comparison or {}
    if not comparison.get("shipped"):
        return None
    combined = comparison.get("crossval_combined") or comparison.get("crossval", {}).get("combined") or {}
    figures = (
        combined.get("real-world") or combined.get("all") or comparison.get("crossval", {}).get("summary")
    )
    return figures if figures and "segment_macro_f1" in figures else None
