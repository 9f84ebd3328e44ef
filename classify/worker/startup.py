"""What each django-q2 worker process does as it starts (connected in classify/apps.py)."""

from __future__ import annotations


def warm_up_worker(sender, proc_name: str, **kwargs) -> None:
    """Each django-q2 worker process (recycled ones too) loads the model and runs one short clip,
    so no user's clip pays for the first call, then starts its lease keeper (heartbeat, lease
    renewal, taking back clips of dead workers). The heartbeat therefore means "a worker with a
    loaded model": /readyz is not ready while workers are still starting."""
    import logging
    import multiprocessing

    from classify.model_versions.loader import get_classifier
    from classify.worker.keeper import start_keeper

    if multiprocessing.current_process().name == "MainProcess":
        return  # django-q2 runs a task in the caller (sync mode) through its worker loop too
    try:
        classifier = get_classifier()
        classifier.warm_up()
        logging.getLogger(__name__).info("%s loaded model %s", proc_name, classifier.version)
    except Exception:  # a broken model must not stop the worker: tasks report the error
        logging.getLogger(__name__).exception("%s could not warm up the classifier", proc_name)
    start_keeper()
