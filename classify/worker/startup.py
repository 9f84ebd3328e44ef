"""What each django-q2 worker process does as it starts (connected in classify/apps.py)."""

from __future__ import annotations


def current_queue() -> str | None:
    """The queue this cluster serves (settings.LIVE_QUEUE, TRAINING_QUEUE; None for clips)."""
    from django_q.conf import Conf

    return None if Conf.CLUSTER_NAME == Conf.PREFIX else Conf.CLUSTER_NAME


def warm_up_worker(sender, proc_name: str, **kwargs) -> None:
    """Each django-q2 worker process (recycled ones too) of a queue that classifies loads the
    model and runs one short clip, so no user's clip pays for the first call, then starts its
    keeper (heartbeat with the loaded version, lease renewal, taking back clips of dead workers,
    failing training runs whose worker died). The heartbeat therefore means "a worker with a
    loaded model": /readyz says "starting" while workers are still loading. Training workers
    load nothing up front (a run loads what it measures)."""
    import logging
    import multiprocessing

    from django.conf import settings

    from classify.model_versions.loader import get_classifier
    from classify.worker.keeper import start_keeper

    if multiprocessing.current_process().name == "MainProcess":
        return  # django-q2 runs a task in the caller (sync mode) through its worker loop too
    queue = current_queue()
    if queue != settings.TRAINING_QUEUE:
        try:
            classifier = get_classifier()
            classifier.warm_up()
            logging.getLogger(__name__).info("%s loaded model %s", proc_name, classifier.version)
        except Exception:  # a broken model must not stop the worker: tasks report the error
            logging.getLogger(__name__).exception("%s could not warm up the classifier", proc_name)
    start_keeper(queue)
