"""Accepting an upload: every refusal (rate, quota, empty, too big, not audio, corrupt, too long)
before anything is stored, then the stored file, the clip's row and its queued task.

Views, the API and live mode's "finish" all call `create_clip`, so each rule lives once.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import math
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Sum

from classify.clips import state
from classify.infra import limits, storage
from classify.models import Clip, ResumableUpload
from ml.audio import AUDIO_TYPES, AudioDecodeError, AudioInfo, check_stream, decoded_samples, open_stream


class UploadRejected(Exception):
    """An upload we will not keep; the message is for the person who sent it."""


class UploadOverLimit(UploadRejected):
    """Refused for the user's limits (rate, quota), not for the audio: it may be sent again."""


class StorageFull(UploadRejected):
    """The server's storage has no room: nothing was kept; the same file may be sent later."""


class UploadThrottled(UploadOverLimit):
    """Over the upload rate: try again in `wait_s` seconds."""

    def __init__(self, message: str, wait_s: float):
        super().__init__(message)
        self.wait_s = wait_s


def human_size(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} kB"


def check_upload(uploaded: UploadedFile[Any]) -> None:
    """Refuse before storing what cannot be kept: empty or too big."""
    size = uploaded.size or 0
    if size == 0:
        raise UploadRejected("The file is empty.")
    if size > settings.UPLOAD_MAX_BYTES:
        raise UploadRejected(
            f"The file is {human_size(size)}; the limit is {human_size(settings.UPLOAD_MAX_BYTES)}."
        )


def _sha256(uploaded: UploadedFile[Any]) -> str:
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()


logger = logging.getLogger(__name__)

_UNSAFE_NAME_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def display_name(name: str | None) -> str:
    """The uploader's file name, for display only: no folders, no control characters, never
    empty, "." or ".."."""
    cleaned = _UNSAFE_NAME_CHARACTERS.sub("", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return cleaned[:255] if cleaned not in ("", ".", "..") else "recording"


def check_quota(owner: User, size: int, finishing: uuid.UUID | None = None) -> None:
    """`size` more bytes fit in the owner's quota beside their clips and the bytes their resumable
    uploads under way have reserved (all but `finishing`, the one whose file this is)."""
    quota = settings.USER_STORAGE_QUOTA_BYTES
    if not quota:
        return
    used = Clip.objects.filter(owner=owner).aggregate(total=Sum("size_bytes"))["total"] or 0
    under_way = ResumableUpload.objects.filter(owner=owner)
    if finishing is not None:
        under_way = under_way.exclude(pk=finishing)
    reserved = under_way.aggregate(total=Sum("length"))["total"] or 0
    if used + reserved + size > quota:
        kept = f"you keep {human_size(used)} of {human_size(quota)}"
        if reserved:
            kept += f", and uploads under way have reserved {human_size(reserved)}"
        raise UploadOverLimit(f"Your storage is full: {kept}. Delete some clips to upload more.")


def take_upload_allowance(owner: User) -> None:
    try:
        limits.take_uploads(owner.pk)
    except limits.LimitReached as reached:
        raise UploadThrottled(f"Too many uploads: {reached}.", reached.wait_s) from None


STEREO_48K_MINUTE = 48_000 * 2 * 60  # the unit of UPLOAD_DECODE_RATE


def take_decode_allowance(owner: User, info: AudioInfo) -> None:
    """Count the decoding a file means (from its header) against the owner's hourly budget, so
    one user cannot keep the machines decoding for everyone else; refused, with when to retry."""
    minutes = max(1, math.ceil(decoded_samples(info) / STEREO_48K_MINUTE))
    try:
        limits.take("decode", owner.pk, limits.Rate.parse(settings.UPLOAD_DECODE_RATE), amount=minutes)
    except limits.LimitReached as reached:
        raise UploadThrottled(
            f"Too much audio to decode this hour ({minutes} minutes of 48 kHz stereo for this file): {reached}.",
            reached.wait_s,
        ) from None


@contextmanager
def upload_on_disk(uploaded: UploadedFile[Any]) -> Iterator[Path]:
    """A path to the upload's bytes: Django's temporary file where there is one, else a copy of
    the in-memory upload in a temporary file that is removed afterwards. (storage.local_copy is
    the other way round: a stored file, fetched to this machine.)"""
    if hasattr(uploaded, "temporary_file_path"):
        yield Path(uploaded.temporary_file_path())
        return
    with tempfile.NamedTemporaryFile(prefix="upload-") as copy:
        for chunk in uploaded.chunks():
            copy.write(chunk)
        copy.flush()
        uploaded.seek(0)
        yield Path(copy.name)


def store_upload(name: str, uploaded: UploadedFile[Any]) -> str:
    """Write the upload under `name`; on a full disk (or quota), remove what was partly written and
    refuse with a message, rather than a 500 that leaves a fragment behind."""
    try:
        return storage.save(name, uploaded)
    except OSError as error:
        storage.delete_quietly(name)
        if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            logger.error("storage full: could not keep an upload (%s)", error)
            raise StorageFull(
                "The server has no room to keep your file right now; nothing was kept. Try again later."
            ) from None
        raise


def create_clip(
    owner: User, uploaded: UploadedFile[Any], counted: bool = False, finishing: uuid.UUID | None = None
) -> Clip:
    """Check the upload completely, then store it, create the clip and queue it.

    Everything an upload can know is refused here, before anything is stored: over the rate or
    the quota, empty, too big, not audio, corrupt, truncated, silent, too short or too long (the
    whole stream is decoded, without TensorFlow). The stored name's extension comes from the
    decoded container, never from the uploader's file name.
    """
    if not counted:  # a resumable upload was counted when it began
        take_upload_allowance(owner)
    check_upload(uploaded)
    check_quota(owner, uploaded.size or 0, finishing)
    with upload_on_disk(uploaded) as path:
        try:
            # The header first (read once): its decoding is counted before any is done.
            stream = open_stream(path, settings.UPLOAD_MAX_DURATION_S, settings.UPLOAD_MAX_SAMPLES)
            take_decode_allowance(owner, stream.info)
            info = check_stream(stream, settings.UPLOAD_MAX_DURATION_S, settings.UPLOAD_WHOLE_CHECK_S)
        except AudioDecodeError as error:
            raise UploadRejected(str(error)) from None
    suffix = AUDIO_TYPES.get(info.format, (".audio",))[0]
    clip = Clip(
        owner=owner,
        original_filename=display_name(uploaded.name),
        size_bytes=uploaded.size or 0,
        sha256=_sha256(uploaded),
        duration_s=info.duration_s,
        sample_rate=info.sample_rate or None,
        channels=info.channels or None,
    )
    clip.file.name = store_upload(clip.file.field.generate_filename(clip, f"recording{suffix}"), uploaded)
    try:
        with transaction.atomic():
            # The owner's row, locked: parallel uploads of one user count the quota in turn,
            # so together they cannot pass it (each alone did, above).
            get_user_model().objects.select_for_update().filter(pk=owner.pk).exists()
            check_quota(owner, clip.size_bytes, finishing)
            clip.save()
            state.send(clip.pk)
    except Exception:
        clip.file.delete(save=False)
        raise
    return clip
