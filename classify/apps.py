from django.apps import AppConfig


class ClassifyConfig(AppConfig):
    name = "classify"
    verbose_name = "Clips and classifications"

    def ready(self) -> None:
        from django_q.signals import post_execute_in_worker, post_spawn, pre_execute

        from classify import signals  # noqa: F401  (connects the file clean-up)
        from classify.infra.multipart import name_unnamed_uploads
        from classify.worker import startup

        name_unnamed_uploads()

        from pathlib import Path

        from django.conf import settings

        Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)

        from django.db.models.signals import post_migrate

        from classify.infra.log_context import task_finished, task_started

        post_migrate.connect(register_shipped_model, sender=self, dispatch_uid="classify-register-model")
        post_spawn.connect(startup.warm_up_worker, dispatch_uid="classify-warm-up")
        pre_execute.connect(task_started, dispatch_uid="classify-log-clip")
        post_execute_in_worker.connect(task_finished, dispatch_uid="classify-log-clip-end")


def register_shipped_model(sender, **kwargs) -> None:
    """After migrate: a fresh install's one active model version is the shipped model."""
    from classify.model_versions.registry import register_shipped

    register_shipped()
