"""The MFCC network as served: its Keras model converted to TensorFlow Lite at training time
(ml/training/networks.py), run by the LiteRT runtime, so serving never imports TensorFlow."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ml import CLASS_NAMES

MODEL_FILE = "model.tflite"
BATCH = 256  # windows per invoke(); the interpreter is resized once for full batches


class Network:
    """One interpreter, used under a lock (callers may share a loaded classifier across threads)."""

    def __init__(self, path: str | Path, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(str(path), num_threads=threads)
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self.input_shape = tuple(int(d) for d in self._input["shape"][1:])
        self._batch = 0
        self._lock = threading.Lock()

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            self._interpreter.resize_tensor_input(self._input["index"], (batch, *self.input_shape))
            self._interpreter.allocate_tensors()
            self._batch = batch

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (windows, 3) for a (windows, ...) feature array."""
        if len(features) == 0:
            return np.zeros((0, len(CLASS_NAMES)), dtype=np.float32)
        features = np.ascontiguousarray(features, dtype=np.float32)
        out = np.zeros((len(features), len(CLASS_NAMES)), dtype=np.float32)
        with self._lock:
            for start in range(0, len(features), BATCH):
                batch = features[start : start + BATCH]
                self._resize(len(batch))
                self._interpreter.set_tensor(self._input["index"], batch)
                self._interpreter.invoke()
                out[start : start + len(batch)] = self._interpreter.get_tensor(self._output)
        return out
