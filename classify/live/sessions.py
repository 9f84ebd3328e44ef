"""Live sessions: a recording classified while it is made, chunk by chunk.

This is the web side (classify/live/tails.py is the worker's). The browser (or a script) opens a session, sends about a second of audio at a time as WAV, and
gets back every window classified so far; "finish" turns the whole recording into an ordinary
clip. The web process only decodes and appends PCM: a django-q2 worker classifies the newest
windows (TensorFlow stays out of the web process), and the chunk request waits briefly for it so
the answer usually includes the chunk just sent. Sessions are bounded in length and idle time,
and the sweeper removes what they leave behind.
"""

from __future__ import annotations

import io
import time
from datetime import datetime, timedelta

import numpy as np
import soundfile
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from classify.clips import intake
from classify.infra import limits, queue
from classify.models import LiveChunk, LiveSession
from ml.audio import SAMPLE_RATE, to_mono_16k

RATE = SAMPLE_RATE
# Windows re-classified at each chunk: the last few seconds, so a window that grew is redone.
TAIL_S = 6.0


class LiveRefused(Exception):
    """A chunk or a session we will not take; the message is for the person recording."""


class LiveThrottled(LiveRefused):
    """Over the per-user chunk rate: try again in `wait_s` seconds."""

    def __init__(self, message: str, wait_s: float):
        super().__init__(message)
        self.wait_s = wait_s


class LiveClosed(LiveRefused):
    """The session is finished or expired: no more chunks."""


def stored_samples(session: LiveSession) -> int:
    return LiveChunk.objects.filter(session=session).aggregate(total=Sum("samples"))["total"] or 0


def read_pcm(session: LiveSession, from_sample: int = 0) -> np.ndarray:
    """The session's audio from `from_sample` on, as 16 kHz mono int16 (only the chunks that can
    reach it are read: none is longer than LIVE_MAX_CHUNK_S)."""
    longest = settings.LIVE_MAX_CHUNK_S * RATE
    chunks = LiveChunk.objects.filter(session=session, start_sample__gt=from_sample - longest)
    parts = [
        (chunk.start_sample, np.frombuffer(bytes(chunk.pcm), dtype="<i2"))
        for chunk in chunks.order_by("start_sample")
        if chunk.start_sample + chunk.samples > from_sample
    ]
    if not parts:
        return np.zeros(0, dtype="<i2")
    joined = np.concatenate([pcm for _, pcm in parts])
    return joined[max(0, from_sample - parts[0][0]) :]


def drop_audio(session: LiveSession) -> None:
    LiveChunk.objects.filter(session=session).delete()


def open_session(owner: User) -> LiveSession:
    """A new session; the owner's older open ones are expired (one microphone at a time). Opening
    is counted (LIVE_SESSION_RATE): a script cannot open sessions without end."""
    try:
        limits.take_live_session(owner.pk)
    except limits.LimitReached as reached:
        raise LiveThrottled(f"Too many live sessions: {reached}.", reached.wait_s) from None
    for stale in LiveSession.objects.filter(owner=owner, status=LiveSession.Status.OPEN):
        expire(stale, "A newer live session was opened.")
    return LiveSession.objects.create(owner=owner)


# What a live chunk may be, checked from its header before a sample is decoded: PCM or float WAV
# (what browsers and scripts record), 8-48 kHz, mono or stereo, 10 ms to LIVE_MAX_CHUNK_S long.
CHUNK_RATES_HZ = (8_000, 48_000)
CHUNK_MAX_CHANNELS = 2
CHUNK_MIN_S = 0.01
CHUNK_SUBTYPES = {"PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"}
CHUNK_HEADER_BYTES = 4096


def max_chunk_bytes() -> int:
    """The most bytes a valid chunk can take: the body is read no further than this."""
    return settings.LIVE_MAX_CHUNK_S * CHUNK_RATES_HZ[1] * CHUNK_MAX_CHANNELS * 4 + CHUNK_HEADER_BYTES


def decode_chunk(data: bytes) -> np.ndarray:
    """A WAV chunk as 16 kHz mono int16, its header checked before anything is decoded."""
    if not data:
        raise LiveRefused("The chunk is empty.")
    try:
        info = soundfile.info(io.BytesIO(data))
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        raise LiveRefused("The chunk is not a WAV file we can read.") from None
    if info.format not in ("WAV", "WAVEX") or info.subtype not in CHUNK_SUBTYPES:
        raise LiveRefused("A chunk must be an uncompressed WAV file (PCM or float samples).")
    low, high = CHUNK_RATES_HZ
    if not low <= info.samplerate <= high or not 1 <= info.channels <= CHUNK_MAX_CHANNELS:
        raise LiveRefused(
            f"A chunk must be mono or stereo at {low // 1000}-{high // 1000} kHz, not {info.channels} "
            f"channel(s) at {info.samplerate} Hz."
        )
    if info.frames > info.samplerate * settings.LIVE_MAX_CHUNK_S:
        raise LiveRefused(f"A chunk may hold at most {settings.LIVE_MAX_CHUNK_S} s of audio.")
    if info.frames < info.samplerate * CHUNK_MIN_S:
        raise LiveRefused(f"A chunk must hold at least {CHUNK_MIN_S * 1000:.0f} ms of audio.")
    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        raise LiveRefused("The chunk is not a WAV file we can read.") from None
    pcm = (np.clip(to_mono_16k(samples, rate), -1, 1) * 32767).astype("<i2")
    if not len(pcm):
        raise LiveRefused(f"A chunk must hold at least {CHUNK_MIN_S * 1000:.0f} ms of audio.")
    return pcm


def _locked(session_id) -> LiveSession:
    """The session's row, locked until the transaction ends: chunks and `finish` of one session
    take turns (two at once would both read the same length and overlap)."""
    locked = LiveSession.objects.select_for_update().filter(pk=session_id).first()
    if locked is None:
        raise LiveClosed("This live session no longer exists; start a new one.")
    return locked


def take_chunk_allowance(session: LiveSession) -> None:
    """Count a chunk against its owner's LIVE_CHUNK_RATE, or raise LiveThrottled."""
    try:
        limits.take_live_chunks(session.owner_id)
    except limits.LimitReached as reached:
        raise LiveThrottled(f"Too many live chunks: {reached}.", reached.wait_s) from None


def add_chunk(session: LiveSession, data: bytes) -> LiveSession:
    """Append a chunk, queue the classification of the newest windows, and wait (at most
    LIVE_WAIT_S) until the worker has classified up to it. The caller has taken the chunk's
    allowance (take_chunk_allowance)."""
    pcm = decode_chunk(data)
    too_long = False
    with transaction.atomic():
        locked = _locked(session.pk)
        if locked.status != LiveSession.Status.OPEN:
            raise LiveClosed(f"This live session is {locked.status}; start a new one.")
        received_s = locked.received_s + len(pcm) / RATE
        too_long = received_s > settings.LIVE_MAX_S
        if not too_long:
            LiveChunk.objects.create(
                session=locked,
                start_sample=round(locked.received_s * RATE),
                samples=len(pcm),
                pcm=pcm.tobytes(),
            )
            LiveSession.objects.filter(pk=locked.pk).update(
                received_s=received_s, last_chunk_at=timezone.now()
            )
            enqueue(locked.pk)
    if too_long:
        expire(locked, "The live session reached its length limit.")
        raise LiveClosed(
            f"The live session reached its limit of {settings.LIVE_MAX_S / 60:.0f} min and was stopped; "
            "its audio is not kept. Stop earlier to keep a recording."
        )
    # One waiting request per session: a client sending chunks on several connections at once
    # gets the others answered at once (windows so far), and cannot hold more than one web
    # thread per session for LIVE_WAIT_S.
    waiting = f"live:waiting:{locked.pk}"
    waits = cache.add(waiting, 1, settings.LIVE_WAIT_S + 5)
    deadline = time.monotonic() + (settings.LIVE_WAIT_S if waits else 0)
    try:
        while True:
            current = LiveSession.objects.filter(pk=locked.pk).first()
            if current is None:  # removed while we waited (expired by the sweeper, account deleted)
                raise LiveClosed("This live session was closed while the chunk was being classified.")
            if current.classified_s >= received_s - 1e-6 or time.monotonic() > deadline:
                return current
            time.sleep(0.1)  # eight waiting chunks cost 80 queries a second
    finally:
        if waits:
            cache.delete(waiting)


PENDING_TAIL_S = 30  # a pending mark outlives a lost task by no more than this


def pending_key(session_id) -> str:
    return f"live:pending-tail:{session_id}"


def enqueue(session_id) -> None:
    """Queue the session's tail task unless one is already waiting: a waiting task classifies up
    to the newest chunk when it runs, so one per session is enough, and a flood of chunks cannot
    flood the queue that clips share. The task clears the mark as it starts (classify/live/tails.py)."""
    if cache.add(pending_key(session_id), 1, PENDING_TAIL_S):
        queue.enqueue(queue.CLASSIFY_LIVE, str(session_id), label=f"live {session_id}")


def finish(session: LiveSession):
    """The whole recording as an ordinary clip (stored, classified in full, in the history). A
    second call answers the same clip; chunks after it are refused."""
    refused: intake.UploadRejected | None = None
    with transaction.atomic():
        locked = _locked(session.pk)
        if locked.status == LiveSession.Status.FINISHED and locked.clip is not None:
            return locked.clip
        if locked.status != LiveSession.Status.OPEN:
            raise LiveClosed(f"This live session is {locked.status}.")
        pcm = read_pcm(locked)
        buffer = io.BytesIO()
        soundfile.write(buffer, pcm, RATE, format="WAV", subtype="PCM_16")
        stamp = timezone.localtime(locked.created_at).strftime("%Y-%m-%d-%H-%M-%S")
        upload = SimpleUploadedFile(f"live-{stamp}.wav", buffer.getvalue(), content_type="audio/wav")
        try:
            clip = intake.create_clip(locked.owner, upload)
        except intake.UploadRejected as error:
            refused = error
        else:
            LiveSession.objects.filter(pk=locked.pk).update(status=LiveSession.Status.FINISHED, clip=clip)
            drop_audio(locked)
            return clip
    if isinstance(refused, intake.UploadOverLimit):
        # The audio is fine, the user's limit is not: keep the session (and its idle clock fresh)
        # so that finishing again later keeps the recording.
        LiveSession.objects.filter(pk=locked.pk).update(last_chunk_at=timezone.now())
    else:
        expire(locked, "The recording could not be kept.")
    raise refused


def expire(session: LiveSession, reason: str) -> None:
    LiveSession.objects.filter(pk=session.pk).update(status=LiveSession.Status.EXPIRED, error=reason)
    drop_audio(session)


def sweep_idle(now: datetime | None = None, dry_run: bool = False) -> list[str]:
    """Expire open sessions idle for LIVE_IDLE_S and remove their audio; forget closed ones (their
    windows: a kept recording is a clip of its own) after LIVE_KEEP_S."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.LIVE_IDLE_S)
    idle = list(LiveSession.objects.filter(status=LiveSession.Status.OPEN, last_chunk_at__lt=cutoff))
    for session in [] if dry_run else idle:
        expire(session, "The live session was idle too long.")
    if not dry_run:
        forgotten = now - timedelta(seconds=settings.LIVE_KEEP_S)
        LiveSession.objects.exclude(status=LiveSession.Status.OPEN).filter(
            last_chunk_at__lt=forgotten
        ).delete()
    return [str(s.pk) for s in idle]
