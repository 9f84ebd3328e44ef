"""The classifier a worker serves with: the active model version, loaded once per process and
again only when the active version changes (classify/model_versions/registry.py). TensorFlow is imported
here, in the worker, never when the web process starts."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import DatabaseError

from classify.infra import heartbeat

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_classifier = None
_loaded = None  # (version, files) of what _classifier holds; None for the bundled folder
_unloadable = None  # the active version that failed to load here (not tried again per clip)


def wanted_version() -> tuple[str, str] | None:
    """The active version (one small query), or None to serve the bundled model (no version
    registered yet, or the database cannot say: keep serving rather than fail the clip)."""
    from classify.model_versions.registry import active

    try:
        version = active()
    except DatabaseError:
        logger.exception("could not read the active model version")
        return _loaded
    return (version.version, version.files) if version else None


def get_classifier():
    """The classifier for the next clip: the one loaded, unless the active version changed."""
    global _classifier, _loaded, _unloadable
    wanted = wanted_version()
    if _classifier is not None and wanted in (_loaded, _unloadable):
        return _classifier
    with _lock:
        if _classifier is None or wanted != _loaded:
            from classify.model_versions.registry import local_folder
            from ml.inference import Classifier

            try:
                folder = settings.CLASSIFIER_MODEL_DIR if wanted is None else local_folder(*wanted)
                classifier = Classifier.load(folder)
            except Exception as error:
                # Keep serving with the model this worker has, and say why it did not switch.
                name = wanted[0] if wanted else "the bundled model"
                logger.exception("could not load model %s", name)
                heartbeat.report_model_error(f"a worker could not load model {name} ({type(error).__name__})")
                if _classifier is None:
                    raise
                _unloadable = wanted
                return _classifier
            heartbeat.report_model_error(None)
            if _classifier is not None:
                classifier.warm_up()
                logger.info("switched from model %s to %s", _classifier.version, classifier.version)
            _classifier, _loaded = classifier, wanted
    return _classifier


def loaded_version() -> str:
    """The version this process serves with ("" before its first load)."""
    return _classifier.version if _classifier is not None else ""
