"""The classifier, loaded lazily once per process: TensorFlow is imported here, in the worker,
never when the web process starts."""

from __future__ import annotations

import threading

from django.conf import settings

_lock = threading.Lock()
_classifier = None


def get_classifier():
    global _classifier
    if _classifier is None:
        with _lock:
            if _classifier is None:
                from ml.inference import Classifier

                _classifier = Classifier.load(settings.CLASSIFIER_MODEL_DIR)
    return _classifier
