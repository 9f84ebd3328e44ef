"""Removing clips and users: the row goes, its stored audio with it (classify/signals.py)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from classify.models import Clip


def purge_failed_files(dry_run: bool = False, now=None) -> list[int]:
    """Remove the stored audio of clips that failed longer than FAILED_CLIP_RETENTION_S ago: the
    row (and its message) stays in the history, the file does not."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.FAILED_CLIP_RETENTION_S)
    expired = Clip.objects.filter(status=Clip.Status.FAILED, finished_at__lt=cutoff).exclude(file="")
    purged = []
    for clip in expired:
        purged.append(clip.pk)
        if not dry_run:
            clip.file.delete(save=False)
            Clip.objects.filter(pk=clip.pk).update(file="")
    return purged


def delete_clip(clip: Clip) -> None:
    """Remove the row; its stored file goes once the deletion commits (classify/signals.py,
    which also covers clips deleted with their owner)."""
    clip.delete()


def delete_user(user) -> None:
    """A user and everything of theirs: clips, results, corrections, tokens, and audio files."""
    with transaction.atomic():
        user.delete()
