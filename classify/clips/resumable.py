"""Resumable uploads over the tus protocol (https://tus.io/protocols/resumable-upload, v1.0.0, with
the creation and termination extensions): a big file arrives in parts; a dropped connection
loses only the part in flight, and the client continues from the offset the server reports.

No maintained tus server library fits Django today (django-tus stops at Django 3.2 and keeps no
owner or quota), so this is the protocol's small core; the clients are the maintained ones
(tus-js-client on the upload page, tuspy or any tus client from scripts).

Each upload is a row (owner, name, length, offset) and a file in RESUMABLE_DIR. Its length counts
against the owner's quota when it begins, its bytes against that length as they arrive; the
last byte turns it into an ordinary clip through the same checks as any upload (intake).
Unfinished uploads are removed after RESUMABLE_EXPIRE_S by the sweeper.
"""

from __future__ import annotations

import errno
import logging
import shutil
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import OperationalError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from classify.clips import intake
from classify.models import Clip, ResumableUpload

logger = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
PART_READ_BYTES = 1 << 20  # read a part's body a megabyte at a time, never whole
STOP_KEY = "resumable:stop:{}"  # set for an upload whose owner is going away: its part stops


def stop_parts(owner: User) -> None:
    """Ask every part of the owner's uploads that is streaming in to stop at its next megabyte
    (it holds its upload's row lock until it ends: deleting the account would wait for it)."""
    for upload_id in ResumableUpload.objects.filter(owner=owner).values_list("pk", flat=True):
        cache.set(STOP_KEY.format(upload_id), True, timeout=settings.RESUMABLE_EXPIRE_S)


class StopAsked:
    """Whether `stop_parts` asked this upload's part to stop: looked up at most once a second,
    not once a megabyte (the cache may be the database)."""

    def __init__(self, upload_id: object):
        self.key, self.next_look = STOP_KEY.format(upload_id), 0.0

    def __call__(self) -> bool:
        if time.monotonic() < self.next_look:
            return False
        self.next_look = time.monotonic() + 1.0
        return bool(cache.get(self.key))


class ResumableRefused(intake.UploadRejected):
    """Not what the protocol or the limits allow; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def begin(owner: User, length: int, filename: str) -> ResumableUpload:
    """A new upload of `length` bytes: counted against the upload rate and the quota now."""
    if length <= 0:
        raise ResumableRefused("The file is empty.")
    if length > settings.UPLOAD_MAX_BYTES:
        raise ResumableRefused(
            f"The file is too big: the limit is {intake.human_size(settings.UPLOAD_MAX_BYTES)}.", 413
        )
    check_room(length)
    intake.take_upload_allowance(owner)
    intake.check_quota(owner, length)  # beside the bytes others under way have reserved
    upload = ResumableUpload.objects.create(
        owner=owner, length=length, filename=intake.display_name(filename)
    )
    path = upload.part_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return upload


def check_room(length: int) -> None:
    """The shared folder's room, for everyone: the uploads under way (anyone's) still to arrive,
    this one, and RESUMABLE_FREE_FLOOR_BYTES must fit in its free space, or the new upload is
    refused now (507) rather than the disk filling half-way through someone's file (issue 27)."""
    folder = Path(settings.RESUMABLE_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    coming = ResumableUpload.objects.aggregate(left=Sum(F("length") - F("offset")))["left"] or 0
    if coming + length + settings.RESUMABLE_FREE_FLOOR_BYTES > free:
        raise ResumableRefused(
            "The server has no room for a file this size right now (uploads under way have taken it); "
            "nothing was kept. Try again later.",
            507,
        )


def append(
    upload: ResumableUpload, offset: int, read: Callable[[int], bytes], declared: int | None
) -> Clip | None:
    """Append a part that starts at `offset` (which must be where the upload stands), reading it
    with `read(n)` a megabyte at a time. What arrives is kept even if the connection drops. The
    part that completes the upload makes the clip (returned); None while parts remain."""
    with transaction.atomic():
        # One part at a time, by a row lock held while the part streams in: a process that dies
        # mid-part releases it with its connection (a cache key would stay until it expired).
        try:  # a second part of the same upload is refused at once, not queued on the lock
            locked = ResumableUpload.objects.select_for_update(nowait=True).filter(pk=upload.pk).first()
        except OperationalError:
            raise ResumableRefused(
                "Another part of this upload is being sent: wait for it, ask where the upload stands "
                "(HEAD) and send from there.",
                409,
            ) from None
        if locked is None:  # finished (or removed) while this request waited for the lock
            raise ResumableRefused(
                "This upload is already finished or was removed: its clip is in your history.", 404
            )
        if offset != locked.offset:
            raise ResumableRefused(
                f"This part starts at byte {offset}, but the upload stands at byte {locked.offset}: "
                "ask where it stands (HEAD) and send from there.",
                409,
            )
        remaining = locked.length - locked.offset
        if declared is not None and declared > remaining:
            raise ResumableRefused(f"The part is longer than the {remaining} bytes left of this upload.", 413)
        written, full = 0, None  # full: the error of a disk that filled up
        stopping = StopAsked(locked.pk)
        with locked.part_path.open("r+b", buffering=0) as out:  # unbuffered: a full disk fails the write
            out.seek(locked.offset)
            while written < remaining:
                try:
                    chunk = read(min(PART_READ_BYTES, remaining - written))
                except OSError as error:  # the client went away mid-part: keep what arrived
                    logger.info(
                        "resumable upload %s: part cut short after %d bytes (%s)", locked.pk, written, error
                    )
                    break
                if not chunk or stopping():
                    break  # the end, or its owner is being deleted
                count, full = write_all(out, chunk)
                written += count
                if full is not None:  # our disk, not the client: say so, keep what fitted
                    logger.error(
                        "resumable upload %s: storage full after %d bytes (%s)", locked.pk, written, full
                    )
                    break
        locked.offset += written
        locked.save(update_fields=["offset", "updated_at"])
    if full is not None:
        raise intake.StorageFull(
            "The server has no room for the rest of your file right now; what arrived is kept. "
            "Send the rest later from where it stands."
        )
    if locked.offset < locked.length:
        return None
    return finish(locked)


def write_all(out: BinaryIO, chunk: bytes) -> tuple[int, OSError | None]:
    """Write `chunk`, and say how many bytes went in and, if the disk filled up, the error. An
    unbuffered write may take part of a chunk and say so only by its count; the next one raises."""
    view, done = memoryview(chunk), 0
    while done < len(chunk):
        try:
            count = out.write(view[done:])
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise
            return done, error
        if not count:
            return done, OSError(errno.ENOSPC, "no byte could be written")
        done += count
    return done, None


def finish(upload: ResumableUpload) -> Clip:
    """Every byte is here: the usual intake (checks, storage, queue), then the parts go. Refused
    for want of room (the owner's quota, the server's disk), the parts stay: once there is room,
    the last part sent again (no bytes, at Upload-Offset = the length) makes the clip. Any other
    refusal (not audio, too long...) is final, and the parts go."""
    path = upload.part_path
    try:
        with path.open("rb") as handle:
            whole = UploadedFile(
                handle, name=upload.filename, content_type="application/octet-stream", size=upload.length
            )
            whole.temporary_file_path = lambda: str(path)  # type: ignore[attr-defined]
            clip = intake.create_clip(upload.owner, whole, counted=True, finishing=upload.pk)
    except (intake.UploadOverLimit, intake.StorageFull) as no_room:
        raise type(no_room)(
            f"{no_room} Your file is kept: once there is room, send its last part again."
        ) from None
    except BaseException:
        remove(upload)
        raise
    remove(upload)
    return clip


def remove(upload: ResumableUpload) -> None:
    """The upload's row; its part file goes with it (classify/signals.py)."""
    ResumableUpload.objects.filter(pk=upload.pk).delete()


def sweep_abandoned(now: datetime | None = None, dry_run: bool = False) -> int:
    """Uploads untouched for RESUMABLE_EXPIRE_S, with their parts, and part files with no row."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.RESUMABLE_EXPIRE_S)
    stale = list(ResumableUpload.objects.filter(updated_at__lt=cutoff).values_list("pk", flat=True))
    if dry_run:
        return len(stale)
    removed = 0
    for pk in stale:
        with transaction.atomic():
            # A part streaming in holds the row's lock: skip it rather than wait minutes for it
            # (the clips worker runs this sweep) and delete an upload in use.
            held = (
                ResumableUpload.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, updated_at__lt=cutoff)
                .first()
            )
            if held is not None:
                held.delete()
                removed += 1
    folder = Path(settings.RESUMABLE_DIR)
    if folder.is_dir():
        known = {str(pk) for pk in ResumableUpload.objects.values_list("pk", flat=True)}
        for part in folder.glob("*.part"):
            if part.stem not in known and part.stat().st_mtime < cutoff.timestamp():
                part.unlink(missing_ok=True)
    return removed
