"""Removing clips and users: the row goes, its stored audio with it (classify/signals.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from classify.clips import resumable
from classify.infra import storage
from classify.models import Clip


def purge_failed_files(dry_run: bool = False, now: datetime | None = None) -> list[int]:
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


ORPHAN_AGE_S = 3600  # older than any upload still being written or any row still being made


def remove_orphans(dry_run: bool = False, now: datetime | None = None) -> dict[str, list[str]]:
    """Files nothing points to, older than an hour: stored clips whose row never came (a write
    that failed half-way, a web process killed between the file and the row), and Django's
    temporary upload files of a request that never ended."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=ORPHAN_AGE_S)
    known = set(Clip.objects.exclude(file="").values_list("file", flat=True))
    stored = [
        name for name in storage.walk("clips") if name not in known and storage.modified_at(name) < cutoff
    ]
    temporary = []
    temp_dir = Path(settings.FILE_UPLOAD_TEMP_DIR) if settings.FILE_UPLOAD_TEMP_DIR else None
    if temp_dir is not None and temp_dir.is_dir():
        temporary = [
            str(path) for path in temp_dir.glob("*.upload*") if path.stat().st_mtime < cutoff.timestamp()
        ]
    if not dry_run:
        for name in stored:
            storage.delete_quietly(name)
        for path in temporary:
            Path(path).unlink(missing_ok=True)
    return {"stored": stored, "temporary": temporary}


def delete_clip(clip: Clip) -> None:
    """Remove the row; its stored file goes once the deletion commits (classify/signals.py,
    which also covers clips deleted with their owner)."""
    clip.delete()


# How long deleting an account waits for a part still streaming in to stop (it stops at its next
# megabyte; nginx drops a client that sends nothing for 20 s).
DELETE_WAIT_S = 30


class AccountBusy(Exception):
    """Something of the account is still held (a part that did not stop in time): nothing was
    deleted; try again."""


def delete_user(user: User) -> None:
    """A user and everything of theirs: clips, results, corrections, tokens, and audio files. A part
    of their upload streaming in holds its row: it is asked to stop first, and the deletion waits
    for it at most DELETE_WAIT_S, never for as long as the part takes (issue 27)."""
    resumable.stop_parts(user)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{DELETE_WAIT_S}s'")
            user.delete()
    except OperationalError as error:
        raise AccountBusy("An upload of yours is still arriving; try again in a minute.") from error
