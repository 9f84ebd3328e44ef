"""django-q2 tasks: thin wrappers, safe to deliver twice. Queued only through classify/infra/queue.py,
which names them."""

from __future__ import annotations

from classify import housekeeping
from classify.clips import processing
from classify.live import tails
from classify.model_versions import training
from classify.model_versions.loader import get_classifier
from classify.worker.keeper import holding


def classify_clip(clip_id: int) -> str:
    return str(processing.process_clip(clip_id, get_classifier, holding))


def classify_live(session_id: str) -> str:
    tails.classify_tail(session_id)
    return f"live {session_id}"


def sweep_stale_clips() -> str:
    return "; ".join(housekeeping.sweep().lines())


def train_model(run_id: int) -> str:
    return training.run_training(run_id)
