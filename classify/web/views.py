"""HTML pages: landing, history, upload, clip detail, audio, delete. Thin: rules live in classify/clips/."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from classify.clips import history_export, intake, public, removal, segment_export, summary
from classify.clips.corrections import CorrectionRefused, correct
from classify.clips.filters import filter_clips
from classify.infra.ranged import audio_response
from classify.models import Clip
from classify.web.forms import UploadForm
from ml import CLASS_NAMES, TIMELINE_LABELS
from ml.families import FAMILIES


def home(request):
    if not request.user.is_authenticated:
        return render(request, "classify/landing.html")
    return history(request)


def history_summary(clips) -> dict:
    """The strip above the history table: done clips per label as shown (the owner's correction
    where there is one, else the model's: classify/clips/summary.py), mixed and unsure clips,
    failed clips, total duration, last upload."""
    done = clips.filter(status=Clip.Status.DONE, result__isnull=False)
    per_label = dict(done.values_list("result__shown_label").annotate(n=Count("id")))
    totals = clips.aggregate(
        total_s=Sum("duration_s"),
        last=Max("created_at"),
        count=Count("id"),
        failed=Count("id", filter=Q(status=Clip.Status.FAILED)),
    )
    flags = done.aggregate(
        mixed=Count("id", filter=Q(result__mixed=True)), unsure=Count("id", filter=Q(result__uncertain=True))
    )
    shown = [(label, per_label.get(label, 0)) for label in TIMELINE_LABELS]
    return {
        "per_label": [(label, n) for label, n in shown if n or label in CLASS_NAMES],
        **flags,
        **totals,
        "total": summary.spoken_seconds(totals["total_s"] or 0),
    }


SORTABLE = ("filename", "duration_s", "created_at")


def sort_links(params, query: str) -> dict[str, dict]:
    """Per sortable column: the URL that sorts by it (flipping the direction if it is the current
    sort) and the arrow to show."""
    current = params.get("ordering", "-created_at")
    rest = [part for part in query.split("&") if part and not part.startswith("ordering=")]
    links = {}
    for field in SORTABLE:
        ascending, descending = current == field, current == f"-{field}"
        wanted = f"-{field}" if ascending else field
        links[field] = {
            "url": "?" + "&".join([*rest, f"ordering={wanted}"]),
            "arrow": "▲" if ascending else "▼" if descending else "",
        }
    return links


@login_required
def history(request):
    mine = Clip.objects.for_user(request.user)
    clips = filter_clips(mine.for_listing(), request.GET)
    page = Paginator(clips, 20).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "classify/history.html",
        {
            "page": page,
            "rows": [
                (clip, summary.stored(clip.result) if clip.result else None) for clip in page.object_list
            ],
            "summary": history_summary(mine),
            "filters": {
                key: request.GET.get(key, "")
                for key in ("label", "status", "search", "mixed", "uncertain", "has_music", "family")
            },
            "families": FAMILIES,
            "query": query.urlencode(),
            "sort": sort_links(request.GET, query.urlencode()),
            "labels": TIMELINE_LABELS,
            "statuses": Clip.Status.choices,
        },
    )


@login_required
def upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    throttled = False
    if request.method == "POST" and form.is_valid():
        created, rejected = [], []
        for uploaded in form.cleaned_data["files"]:
            try:
                created.append(intake.create_clip(request.user, uploaded))
            except intake.UploadRejected as error:
                throttled = throttled or isinstance(error, intake.UploadThrottled)
                rejected.append(f"{intake.display_name(uploaded.name)}: {error}")
        for problem in rejected:
            form.add_error("files", problem)
        if created and not rejected:
            messages.success(request, f"{len(created)} clip(s) uploaded and queued.")
            return redirect(created[0] if len(created) == 1 else "home")
        if created:
            messages.success(request, f"{len(created)} clip(s) uploaded and queued.")
    context = {
        "form": form,
        "max_hours": summary.spoken_seconds(settings.UPLOAD_MAX_DURATION_S),
    }
    return render(
        request, "classify/upload.html", context, status=429 if throttled else 400 if form.errors else 200
    )


def _own_clip(request, clip_id: int) -> Clip:
    return get_object_or_404(Clip.objects.for_user(request.user).with_result(), pk=clip_id)


def timeline(result, duration_s: float | None) -> list[dict]:
    """The result's segments as shown (classify/clips/public.py), with their place on the timeline
    bar in percent of the clip."""
    rows = list(public.segment_rows(result))
    total = duration_s or (rows[-1]["end"] if rows else 1.0) or 1.0
    return [
        {
            **row,
            "corrected": row["corrected_label"] is not None,
            "when": summary.span_text(row["start"], row["end"], duration_s),
            "left_pct": f"{100 * row['start'] / total:.3f}",
            "width_pct": f"{100 * (row['end'] - row['start']) / total:.3f}",
            # Too narrow for its word: the label would be cut ("noi"); the title still says it.
            "narrow": (row["end"] - row["start"]) / total < 0.08,
        }
        for row in rows
    ]


def answer_context(result) -> dict:
    """What the result page says about a clip (classify/clips/summary.py's rule): the summary as
    shown, the model's own (for "the model said ..."), and the time bars of a mixed clip."""
    if result is None:
        return {}
    shown = summary.summarize_result(result)
    spans = [summary.Span(s.start, s.end, s.label, "", s.uncertain) for s in result.segments.all()]
    percent = shown.share_pct()
    return {
        "summary": shown,
        "model_summary": summary.summarize(result.label, "", result.model_uncertain, spans),
        "holding_rows": [(name, summary.spoken_seconds(shown.shares[name])) for name in shown.holding],
        "share_rows": [
            (name, percent[name], summary.spoken_seconds(shown.shares[name]))
            for name in TIMELINE_LABELS
            if shown.shares[name]
        ],
    }


def lanes(result, duration_s: float | None) -> list[tuple[str, list[dict]]]:
    """The speech and music tracks as shown, with their place on the lanes in percent."""
    if result is None:
        return []
    tracks = public.shown_tracks(result)
    total = duration_s or 1.0
    return [
        (
            lane,
            [
                {
                    **span,
                    "level_db": span.get("level_db"),
                    "left_pct": f"{100 * span['start'] / total:.3f}",
                    "width_pct": f"{100 * (span['end'] - span['start']) / total:.3f}",
                }
                for span in tracks[lane]
            ],
        )
        for lane in ("speech", "music")
    ]


def families_sentence(segments: list[dict]) -> str:
    """ "noise: rain and wind, then a crowd · music: singing": each class's families in the order
    they are first heard (a family named as its class, like speech, is left out)."""
    by_class: dict[str, list[str]] = {}
    for segment in segments:
        family = segment.get("family")
        if family and family != segment["label"] and family not in by_class.setdefault(segment["label"], []):
            by_class[segment["label"]].append(family)
    return " · ".join(
        f"{name}: {', then '.join(FAMILY_WORDS.get(f, f) for f in families)}"
        for name, families in by_class.items()
        if families
    )


FAMILY_WORDS = {"water-weather": "water or weather", "other-noise": "other noise", "crowd": "a crowd"}
SEGMENTS_PER_PAGE = 100
ZOOM_FROM_S = 120  # clips longer than this get the zoomable detail view


@login_required
def clip_detail(request, clip_id: int):
    clip = _own_clip(request, clip_id)
    segments = timeline(clip.result, clip.duration_s)
    listed = Paginator(segments, SEGMENTS_PER_PAGE).get_page(request.GET.get("segments"))
    return render(
        request,
        "classify/detail.html",
        {
            "clip": clip,
            "duration_text": summary.spoken_seconds(clip.duration_s or 0)
            if (clip.duration_s or 0) >= 90
            else "",
            **answer_context(clip.result),
            "segments": segments,
            "lanes": lanes(clip.result, clip.duration_s),
            "families_sentence": families_sentence(segments),
            "listed": listed,
            "zoom": bool(clip.result) and (clip.duration_s or 0) > ZOOM_FROM_S,
            "zoom_spans": [(600, "10 min"), (60, "1 min"), (10, "10 s")],
            "timeline_data": [[s["start"], s["end"], s["label"], s["uncertain"]] for s in segments],
            "labels": CLASS_NAMES,
            "timeline_labels": TIMELINE_LABELS,
            "waveform": waveform_path(clip.waveform),
            "corrections": clip.corrections.select_related("segment", "user")[:20],
        },
    )


def waveform_path(columns: list[list[float]]) -> str:
    """An SVG path over a 0..N x 0..100 box: one vertical stroke per column, min to max."""
    return " ".join(f"M{i} {50 - 50 * high:.1f}V{50 - 50 * low:.1f}" for i, (low, high) in enumerate(columns))


@login_required
@require_POST
def clip_correct(request, clip_id: int):
    clip = _own_clip(request, clip_id)
    try:
        segment = parse_index(request.POST.get("segment", ""))
        correct(clip, request.user, request.POST.get("label", ""), segment)
        messages.success(request, "Thanks: your correction was saved.")
    except CorrectionRefused as error:
        messages.error(request, str(error))
    return redirect(clip)


def parse_index(text: str) -> int | None:
    """A segment index from a form: ASCII digits only ("²" is a digit to str.isdigit, not to
    int), within range; empty means the whole clip."""
    text = text.strip()
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{1,6}", text):
        raise CorrectionRefused("The segment must be a whole number.")
    return int(text)


@login_required
def history_download(request, kind: str):
    clips = filter_clips(Clip.objects.for_user(request.user).for_listing(), request.GET)
    return history_export.response(clips, kind)


@login_required
def clip_segments(request, clip_id: str, kind: str):
    return segment_export.response(_own_clip(request, int(clip_id)), kind)


@login_required
def clip_tracks(request, clip_id: str, kind: str):
    lane = request.GET.get("lane", "music")
    lane = lane if lane in segment_export.LANES else "music"
    return segment_export.tracks_response(_own_clip(request, int(clip_id)), kind, lane)


@login_required
def clip_audio(request, clip_id: int):
    return audio_response(request, _own_clip(request, clip_id))


@login_required
@require_POST
def clip_delete(request, clip_id: int):
    clip = _own_clip(request, clip_id)
    name = clip.original_filename
    removal.delete_clip(clip)
    messages.success(request, f"Deleted {name}.")
    return redirect("home")


@staff_member_required
def admin_clip_audio(request, clip_id: int):
    """Any clip's audio, for staff allowed to see clips in admin (the owners' own view answers 404
    to everyone else)."""
    if not request.user.has_perm("classify.view_clip"):
        raise PermissionDenied
    return audio_response(request, get_object_or_404(Clip, pk=clip_id))
