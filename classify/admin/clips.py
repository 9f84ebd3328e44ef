"""Admin as a product surface: filters, search, read-only results with segments, re-run actions."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from classify.clips import public, removal, state, summary
from classify.models import Classification, Clip, Correction, LiveSession, Segment
from ml import TIMELINE_LABELS

# The result page's colours (static/css/site.css), for admin, which does not load that sheet.
COLOURS = {"music": "#3b6fd8", "speech": "#2a9d5b", "noise": "#d9822b", "silence": "#c9ced8"}


def percentages(probabilities: dict) -> str:
    """{"music": 0.94, ...} as people read it: "music 94%, ..."."""
    return ", ".join(f"{name} {100 * p:.0f}%" for name, p in probabilities.items())


def _action_summary(verb: str, changed: int, chosen: int, accepted) -> str:
    """What an action did, and why some clips were left alone."""
    message = f"{verb} {changed} clip(s)."
    if changed < chosen:
        states = " or ".join(str(status.label).lower() for status in accepted)
        message += f" {chosen - changed} left as they were: this action takes only {states} clips."
    return message


class ClassificationInline(admin.TabularInline):
    model = Classification
    fields = ("model_version", "label", "confidence", "percentages", "processing_s", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="probabilities")
    def percentages(self, result: Classification) -> str:
        return percentages(result.probabilities)


class SegmentInline(admin.TabularInline):
    model = Segment
    fields = ("index", "start", "end", "label", "probabilities")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ("original_filename", "owner", "status", "label", "duration_s", "attempts", "created_at")
    list_filter = ("status", "result__label", "created_at", ("owner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("original_filename", "owner__username", "owner__email", "sha256")
    date_hierarchy = "created_at"
    list_select_related = ("owner", "result")
    # Everything is read-only: staff act through the actions, never by editing results.
    fields = (
        "owner",
        "audio",
        "original_filename",
        "size_bytes",
        "sha256",
        "duration_s",
        "sample_rate",
        "channels",
        "status",
        "error",
        "attempts",
        "worker",
        "lease_expires_at",
        "created_at",
        "queued_at",
        "started_at",
        "finished_at",
        "answer",
        "timeline",
    )
    readonly_fields = fields
    inlines = [ClassificationInline]
    # Everything is read-only: no Save buttons for data nobody may edit here.
    read_only_buttons = {
        "show_save": False,
        "show_save_and_continue": False,
        "show_save_and_add_another": False,
    }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), **self.read_only_buttons}
        )

    @admin.display(description="answer")
    def answer(self, clip: Clip) -> str:
        """What the owner sees (classify/clips/summary.py), with the model's probabilities in percent."""
        if clip.result is None:
            return "-"
        shown = summary.stored(clip.result)
        probabilities = percentages(clip.result.probabilities)
        flags = [flag for flag, on in (("mixed", shown.mixed), ("unsure", shown.uncertain)) if on]
        corrected = f"; corrected by the owner (model said {clip.result.label})" if shown.by_owner else ""
        return format_html(
            "<strong>{}</strong>{}{} · model {}: {} ({})",
            shown.headline(),
            f" ({', '.join(flags)})" if flags else "",
            corrected,
            clip.result.model_version,
            probabilities,
            f"{100 * clip.result.confidence:.0f}% confident",
        )

    @admin.display(description="timeline")
    def timeline(self, clip: Clip) -> str:
        """The segments as coloured bars across the clip (hover for times), as on the result page."""
        if clip.result is None:
            return "-"
        segments = list(public.segment_rows(clip.result))
        total = clip.duration_s or (segments[-1]["end"] if segments else 1.0) or 1.0
        bars = format_html_join(
            "",
            '<span title="{}–{} s: {}{}" style="position:absolute;top:0;bottom:0;left:{}%;width:{}%;background:{}"></span>',
            (
                (  # numbers formatted first: format_html escapes its arguments into strings
                    f"{s['start']:.1f}", f"{s['end']:.1f}", s["label"], " (unsure)" if s["uncertain"] else "",
                    f"{100 * s['start'] / total:.3f}", f"{100 * (s['end'] - s['start']) / total:.3f}",
                    COLOURS[s["label"]],
                )
                for s in segments
            ),
        )  # fmt: skip
        legend = format_html_join(
            " ", '<span style="color:{}">■ {}</span>', ((COLOURS[name], name) for name in TIMELINE_LABELS)
        )
        return format_html(
            '<div class="timeline" style="position:relative;height:22px;width:600px;max-width:100%;background:#eceff5">{}</div>{}',
            bars,
            legend,
        )

    actions = ["classify_again", "mark_failed"]

    @admin.display(description="audio")
    def audio(self, clip: Clip) -> str:
        """A player through the staff-only audio view, never a /media/ link (nothing serves that)."""
        if not clip.file:
            return "(file removed)"
        url = reverse("admin-clip-audio", args=[clip.pk])
        return format_html(
            '<audio controls preload="none" src="{}"></audio> <a href="{}">download</a>', url, url
        )

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="label", ordering="result__label")
    def label(self, clip: Clip) -> str:
        return clip.label or "-"

    @admin.action(description="Classify again with the current model (queued, done or failed clips)")
    def classify_again(self, request, queryset):
        queued = sum(state.requeue(clip.pk) for clip in queryset)
        self.message_user(request, _action_summary("Queued", queued, queryset.count(), state.REQUEUE_FROM))

    @admin.action(description="Mark as failed (queued or processing clips)")
    def mark_failed(self, request, queryset):
        failed = sum(state.fail(clip.pk, "Marked as failed by staff.") for clip in queryset)
        self.message_user(
            request, _action_summary("Marked failed", failed, queryset.count(), state.FAIL_FROM)
        )

    def delete_model(self, request, clip: Clip) -> None:
        removal.delete_clip(clip)

    def delete_queryset(self, request, queryset) -> None:
        for clip in queryset:
            removal.delete_clip(clip)


@admin.register(Classification)
class ClassificationAdmin(admin.ModelAdmin):
    list_display = ("clip", "label", "confidence", "model_version", "processing_s", "created_at")
    list_filter = ("label", "model_version")
    search_fields = ("clip__original_filename", "clip__owner__username")
    list_select_related = ("clip",)
    readonly_fields = (
        "clip",
        "model_version",
        "label",
        "confidence",
        "probabilities",
        "processing_s",
        "created_at",
    )
    inlines = [SegmentInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):
    """What users said the model got wrong; `manage.py export_corrections` turns these into
    training data."""

    list_display = ("clip", "where", "old_label", "new_label", "user", "created_at")
    list_filter = ("new_label", "old_label", "created_at")
    search_fields = ("clip__original_filename", "user__username")
    list_select_related = ("clip", "segment", "user")
    readonly_fields = ("clip", "classification", "segment", "user", "old_label", "new_label", "created_at")

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="where")
    def where(self, correction: Correction) -> str:
        if (segment := correction.segment) is not None:
            return f"{segment.start:.1f}-{segment.end:.1f} s"
        return "whole clip"


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    """Live sessions, read-only: who listened, how long, what it became."""

    list_display = ("id", "owner", "status", "received_s", "created_at", "last_chunk_at", "clip")
    list_filter = ("status", "created_at")
    search_fields = ("owner__username",)
    list_select_related = ("owner", "clip")
    readonly_fields = (
        "owner",
        "status",
        "received_s",
        "classified_s",
        "windows",
        "clip",
        "error",
        "created_at",
        "last_chunk_at",
    )

    def has_add_permission(self, request) -> bool:
        return False
