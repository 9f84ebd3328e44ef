"""History filters and ordering, shared by the HTML history page, the API list and the exports.

`?label=` is the label a clip is shown with (the owner's correction, else the model's:
classify/clips/summary.py), so the filter, the summary strip and the exports agree.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import QuerySet

from classify.models import Clip
from ml import TIMELINE_LABELS
from ml.families import FAMILIES

FLAGS = ("true", "false")
CHOICES: dict[str, tuple[str, ...]] = {
    "label": TIMELINE_LABELS,
    "status": tuple(Clip.Status.values),
    "mixed": FLAGS,
    "uncertain": FLAGS,
    "has_music": FLAGS,
    "family": FAMILIES,
}
# ?ordering= values: newest first by default.
ORDERINGS = {
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "filename": ("original_filename", "id"),
    "-filename": ("-original_filename", "-id"),
    "duration_s": ("duration_s", "id"),
    "-duration_s": ("-duration_s", "-id"),
}
CHOICES["ordering"] = tuple(ORDERINGS)


def unknown_values(params: Mapping[str, str]) -> dict[str, list[str]]:
    """Each filter whose value matches nothing it knows, with a sentence (the API answers 400)."""
    return {
        name: [f"Choose one of {', '.join(choices)}."]
        for name, choices in CHOICES.items()
        if params.get(name) not in (None, "", *choices)
    }


def filter_clips(clips: QuerySet[Clip], params: Mapping[str, str]) -> QuerySet[Clip]:
    """Apply ?label=, ?status=, ?mixed=, ?uncertain=, ?has_music=, ?family= (heard in the clip),
    ?search= (part of the file name) and
    ?ordering=; unknown values are ignored here (a bookmarked URL keeps working; the API refuses
    them first)."""
    label = params.get("label", "")
    if label in TIMELINE_LABELS:
        clips = clips.filter(result__shown_label=label)
    status = params.get("status", "")
    if status in Clip.Status.values:
        clips = clips.filter(status=status)
    family = params.get("family", "")
    if family in FAMILIES:
        clips = clips.filter(result__families__contains=[family])
    for flag in ("mixed", "uncertain", "has_music"):
        if params.get(flag, "") in FLAGS:
            clips = clips.filter(**{f"result__{flag}": params[flag] == "true"})
    search = params.get("search", "").strip()
    if search:
        clips = clips.filter(original_filename__icontains=search)
    return clips.order_by(*ORDERINGS.get(params.get("ordering", ""), ORDERINGS["-created_at"]))
