"""Live mode, the worker's side: classify the newest seconds of an open session and keep the
windows on the session (classify/live/sessions.py is the web side)."""

from __future__ import annotations

import numpy as np
from django.core.cache import cache
from django.db import transaction

from classify.live.sessions import RATE, TAIL_S, pending_key, read_pcm, stored_samples
from classify.model_versions.loader import get_classifier
from classify.models import LiveSession


def classify_tail(session_id) -> None:
    """The worker's part: classify the last TAIL_S seconds and replace those windows. Windows
    start on the features' hop grid (47 frames of 512 samples, 1.504 s) from the session's
    start, so the tail starts on it too and its windows line up with the ones kept."""
    cache.delete(pending_key(session_id))  # chunks from now on queue a task of their own
    session = LiveSession.objects.filter(pk=session_id, status=LiveSession.Status.OPEN).first()
    if session is None:
        return
    total = stored_samples(session)
    total_s = total / RATE
    if total_s < 0.5:
        return
    classifier = get_classifier()
    hop = classifier.settings.frames_per_hop * classifier.settings.hop_length  # in samples
    first = max(0, int(np.floor((total - TAIL_S * RATE) / hop))) * hop
    start_s = first / RATE
    pcm = read_pcm(session, first)[: total - first]
    samples = pcm.astype(np.float32) / 32767
    result = classifier.classify_samples(samples)
    fresh = [
        {
            "start": round(w.start + start_s, 3),
            "end": round(w.end + start_s, 3),
            "label": w.label,
            "probabilities": w.probabilities,
            "uncertain": w.uncertain,
        }
        for w in result.windows
    ]
    with transaction.atomic():
        current = LiveSession.objects.select_for_update().get(pk=session_id)
        if current.classified_s > total_s:  # a later chunk's task got here first
            return
        kept = [w for w in current.windows if w["start"] < start_s - 1e-6]
        current.windows = kept + fresh
        current.tracks = joined_tracks(current.tracks, result.tracks, start_s)
        current.classified_s = total_s
        current.save(update_fields=["windows", "tracks", "classified_s"])


def joined_tracks(kept: dict, fresh: dict, start_s: float) -> dict:
    """The tracks before the tail (cut at its start) followed by the tail's own, in session time;
    a span that runs into the tail joins the tail's first one."""
    out = {}
    for lane in ("speech", "music"):
        before = [
            {**span, "end": min(span["end"], start_s)}
            for span in kept.get(lane, [])
            if span["start"] < start_s
        ]
        after = [
            {**span, "start": round(span["start"] + start_s, 3), "end": round(span["end"] + start_s, 3)}
            for span in fresh.get(lane, [])
        ]
        if before and after and after[0]["start"] - before[-1]["end"] < 1e-3:
            after[0] = {**after[0], "start": before.pop()["start"]}
        out[lane] = before + after
    return out
