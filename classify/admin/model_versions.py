"""Admin for model versions: train one (queued to a worker), follow its progress and log,
compare it with the active model side by side, promote it or roll back to an older one."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from classify.model_versions import registry, training
from classify.models import ModelVersion
from ml import CLASS_NAMES


class TrainForm(forms.Form):
    with_corrections = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Add users' corrected clips and segments (one source per user).",
    )


class PromoteForm(forms.Form):
    confirm_worse = forms.BooleanField(
        required=False, label="I have read the figures and want to promote it although it scored worse."
    )


def figure(value) -> str:
    return "–" if value is None else f"{value:.3f}"


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    # The compare link beside the version and a short date: at 1280 px with admin's side bar the
    # last column was cut off.
    list_display = (
        "version", "compare_link", "status", "progress_text", "corpus_macro_f1", "corrections_macro_f1",
        "created",
    )  # fmt: skip
    list_filter = ("status", "with_corrections")
    search_fields = ("version", "recipe")
    change_list_template = "admin/classify/modelversion/change_list.html"
    change_form_template = "admin/classify/modelversion/change_form.html"
    readonly_fields = [field.name for field in ModelVersion._meta.fields] + ["progress_text"]
    fields = (
        "version", "status", "recipe", "with_corrections", "corrections_used", "correction_users",
        "corpus_fingerprint", "files", "trained_by", "created_at", "finished_at", "progress_text", "error",
        "promoted_at", "promoted_by", "forced_by", "log",
    )  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return (
            obj is not None
            and obj.status in (ModelVersion.Status.FAILED, ModelVersion.Status.CANDIDATE)
            and super().has_delete_permission(request, obj)
        )

    @admin.display(description="progress")
    def progress_text(self, version: ModelVersion) -> str:
        return training.describe_progress(version)

    def _macro(self, version: ModelVersion, name: str) -> str:
        held_out = version.comparison.get("sets", {}).get(name)
        if held_out:
            return figure(held_out["candidate"]["macro_f1"])
        if name == "corpus" and (shipped := registry.shipped_figures(version)):
            return f"{figure(shipped['segment_macro_f1'])} (cross-validated, real-world sources)"
        return "–"

    @admin.display(description="held-out F1")
    def corpus_macro_f1(self, version: ModelVersion) -> str:
        return self._macro(version, "corpus")

    @admin.display(description="users' F1")
    def corrections_macro_f1(self, version: ModelVersion) -> str:
        return self._macro(version, "corrections")

    @admin.display(description="created", ordering="created_at")
    def created(self, version: ModelVersion) -> str:
        return date_format(timezone.localtime(version.created_at), "Y-m-d H:i")

    @admin.display(description="")
    def compare_link(self, version: ModelVersion) -> str:
        if not version.comparison.get("sets"):
            return ""
        return format_html(
            '<a href="{}">compare</a>', reverse("admin:classify_modelversion_compare", args=[version.pk])
        )

    def get_urls(self):
        own = [
            path("train/", self.admin_site.admin_view(self.train_view), name="classify_modelversion_train"),
            path("<int:pk>/compare/", self.admin_site.admin_view(self.compare_view), name="classify_modelversion_compare"),
            path("<int:pk>/promote/", self.admin_site.admin_view(self.promote_view), name="classify_modelversion_promote"),
        ]  # fmt: skip
        return own + super().get_urls()

    def train_view(self, request):
        if not request.user.has_perm("classify.change_modelversion"):
            return redirect("admin:classify_modelversion_changelist")
        form = TrainForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                run = training.queue_training(request.user, form.cleaned_data["with_corrections"])
            except training.TrainingRefused as refused:
                self.message_user(request, str(refused), messages.ERROR)
            else:
                self.message_user(
                    request, f"Training queued ({run.version}); a worker runs it. Progress shows here."
                )
            return redirect("admin:classify_modelversion_changelist")
        context = {**self.admin_site.each_context(request), "title": "Train a new model", "form": form,
                   "opts": self.model._meta, "running": ModelVersion.objects.filter(status__in=["queued", "training"]),
                   "plan": training.plan()}  # fmt: skip
        return TemplateResponse(request, "admin/classify/modelversion/train.html", context)

    def compare_view(self, request, pk: int):
        if not request.user.has_perm("classify.view_modelversion"):
            raise PermissionDenied
        version = get_object_or_404(ModelVersion, pk=pk)
        sets = []
        for name, held_out in version.comparison.get("sets", {}).items():
            rows = [
                (
                    cls,
                    held_out["active"]["per_class"].get(cls, {}),
                    held_out["candidate"]["per_class"].get(cls, {}),
                )
                for cls in CLASS_NAMES
            ]
            sets.append({"name": name, **held_out, "rows": rows})
        context = {
            **self.admin_site.each_context(request),
            "title": (
                f"{version.version}: training failed"
                if version.status == ModelVersion.Status.FAILED
                else f"{version.version} beside the active model"
            ),
            "version": version,
            "sets": sets,
            "worse": registry.worse_than_active(version),
            "opts": self.model._meta,
            "active": ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first(),
        }
        return TemplateResponse(request, "admin/classify/modelversion/compare.html", context)

    def promote_view(self, request, pk: int):
        version = get_object_or_404(ModelVersion, pk=pk)
        if not request.user.has_perm("classify.change_modelversion"):
            return redirect("admin:classify_modelversion_changelist")
        if version.status not in (ModelVersion.Status.CANDIDATE, ModelVersion.Status.RETIRED):
            self.message_user(
                request,
                f"{version.version} is {version.get_status_display().lower()}: only a candidate or a "
                "retired version can be promoted.",
                messages.ERROR,
            )
            return redirect("admin:classify_modelversion_change", version.pk)
        form = PromoteForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                registry.promote(version, request.user, force=form.cleaned_data["confirm_worse"])
            except registry.PromotionRefused as refused:
                self.message_user(request, str(refused), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{version.version} is now the active model; workers use it from their next clip.",
                )
                return redirect("admin:classify_modelversion_changelist")
        context = {**self.admin_site.each_context(request), "title": f"Promote {version.version}", "form": form,
                   "version": version, "worse": registry.worse_than_active(version), "opts": self.model._meta}  # fmt: skip
        return TemplateResponse(request, "admin/classify/modelversion/promote.html", context)
