from django.apps import AppConfig


class ClassifyConfig(AppConfig):
    name = "classify"
    verbose_name = "Clips and classifications"

    def ready(self) -> None:
        from django_q.signals import post_execute_in_worker, post_spawn, pre_execute

        from classify import signals  # noqa: F401  (connects the file clean-up)
        from classify.multipart import name_unnamed_uploads

        name_unnamed_uploads()

        from django.db.models.signals import post_migrate

        from classify.log_context import task_finished, task_started

        post_migrate.connect(register_shipped_model, sender=self, dispatch_uid="classify-register-model")
        post_spawn.connect(warm_up_worker, dispatch_uid="classify-warm-up")
        pre_execute.connect(task_started, dispatch_uid="classify-log-clip")
        post_execute_in_worker.connect(task_finished, dispatch_uid="classify-log-clip-end")


def warm_up_worker(sender, proc_name: str, **kwargs) -> None:
    """Each django-q2 worker process (recycled ones too) starts its lease keeper (heartbeat,
    lease renewal, taking back clips of dead workers), then loads the model and runs one short
    clip, so no user's clip pays for TensorFlow's start-up or numba's compiling."""
    import logging
    import multiprocessing

    from classify.leases import start_keeper
    from classify.runtime import get_classifier

    if multiprocessing.current_process().name == "MainProcess":
        return  # django-q2 runs a task in the caller (sync mode) through its worker loop too
    start_keeper()
    try:
        classifier = get_classifier()
        classifier.warm_up()
        logging.getLogger(__name__).info("%s loaded model %s", proc_name, classifier.version)
    except Exception:  # a broken model must not stop the worker: tasks report the error
        logging.getLogger(__name__).exception("%s could not warm up the classifier", proc_name)


def register_shipped_model(sender, **kwargs) -> None:
    """After migrate: a fresh install's one active model version is the shipped model."""
    from classify.model_versions import register_shipped

    register_shipped()
