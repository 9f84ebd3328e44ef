from django.apps import AppConfig


class ClassifyConfig(AppConfig):
    name = "classify"
    verbose_name = "Clips and classifications"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from classify import signals  # noqa: F401  (connects the file clean-up)
        from classify.multipart import name_unnamed_uploads

        name_unnamed_uploads()

        post_spawn.connect(warm_up_worker, dispatch_uid="classify-warm-up")


def warm_up_worker(sender, proc_name: str, **kwargs) -> None:
    """Each django-q2 worker process (recycled ones too) loads the model and runs one short clip
    as soon as it starts, so no user's clip pays for TensorFlow's start-up or numba's compiling."""
    import logging

    from classify.runtime import get_classifier

    try:
        classifier = get_classifier()
        classifier.warm_up()
        logging.getLogger(__name__).info("%s loaded model %s", proc_name, classifier.version)
    except Exception:  # a broken model must not stop the worker: tasks report the error
        logging.getLogger(__name__).exception("%s could not warm up the classifier", proc_name)
