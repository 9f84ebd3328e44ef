"""django-q2 tasks: thin wrappers around classify.services, safe to deliver twice."""

from __future__ import annotations

from classify import live, services, training


def classify_clip(clip_id: int) -> str:
    outcome = services.process_clip(clip_id)
    return f"clip {outcome.clip_id}: {outcome.status} {outcome.detail}".strip()


def classify_live(session_id: str) -> str:
    live.classify_tail(session_id)
    return f"live {session_id}"


def sweep_stale_clips() -> str:
    outcome = services.sweep_stale()
    purged = services.purge_failed_files()
    live.sweep_idle()
    return f"requeued {outcome['requeued']}, failed {outcome['failed']}, removed the files of {purged}"


def train_model(run_id: int) -> str:
    return training.run_training(run_id)
