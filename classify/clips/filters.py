"""History filters shared by the HTML history page and the API list."""

from __future__ import annotations

from collections.abc import Mapping

from classify.models import Clip
from ml import TIMELINE_LABELS


def filter_clips(clips, params: Mapping[str, str]):
    """Apply ?label=, ?status= and ?search= (part of the file name); unknown values are ignored
    rather than erroring, as a bookmarked URL should keep working."""
    label = params.get("label", "")
    if label in TIMELINE_LABELS:
        clips = clips.filter(result__label=label)
    status = params.get("status", "")
    if status in Clip.Status.values:
        clips = clips.filter(status=status)
    search = params.get("search", "").strip()
    if search:
        clips = clips.filter(original_filename__icontains=search)
    return clips
