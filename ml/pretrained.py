"""A second opinion per window from YAMNet, a network Google trained on AudioSet (about 2 million
labelled clips of 521 kinds of sound), run by the LiteRT runtime: no TensorFlow import.

YAMNet hears one patch of 0.975 s at a time. A recording is cut into back-to-back patches (the
last one padded with silence) and each of our 3 s windows takes the mean over the patches whose
centre lies inside it: every sample goes through the network once, however the windows overlap.
Its 521 sigmoid scores are grouped by the AudioSet ontology (the class map's rows are in ontology
order) into a few kinds of sound; the combiner (ml/combiner.py) reads those groups, and
`three_class` turns them into our music / speech / noise, which is what the network says alone.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml import CLASS_NAMES
from ml.audio import SAMPLE_RATE

PATCH_SAMPLES = 15_600  # 0.975 s at 16 kHz: the network's input
PATCH_S = PATCH_SAMPLES / SAMPLE_RATE
THIRDS = 3  # time steps of the network's last layer in a patch
THIRD_S = PATCH_S / THIRDS
MODEL_FILE = "yamnet.tflite"
CLASS_MAP_FILE = "yamnet_class_map.csv"
DEFAULT_FOLDER = Path(__file__).resolve().parent / "models" / "yamnet"

# Rows of yamnet_class_map.csv, by ontology branch. Singing, choirs, chant and rap are music
# (that is what a listener calls them); shouts, laughter and crowd chatter are not speech.
GROUPS: dict[str, tuple[range, ...]] = {
    "speech": (range(0, 6),),  # speech, child speech, conversation, narration, babbling, synthesizer
    "singing": (range(24, 33),),  # singing, choir, yodeling, chant, mantra, rapping, humming
    "music": (range(132, 277),),  # instruments, genres, moods
    "human": (range(6, 24), range(33, 67)),  # shouts, laughter, breathing, steps, crowds, applause
    "animal": (range(67, 132),),
    "nature": (range(277, 294),),  # wind, water, rain, fire
    "things": (range(294, 521),),  # vehicles, household, alarms, tools, impacts, noise
}
GROUP_NAMES = tuple(GROUPS)
# Which of our classes each group stands for.
GROUP_CLASS = {
    "speech": "speech",
    "singing": "music",
    "music": "music",
    "human": "noise",
    "animal": "noise",
    "nature": "noise",
    "things": "noise",
}
SCORE_FLOOR = 1e-4  # the log of a score is taken; sigmoid outputs can be exactly 0 in float32


def group_matrix() -> np.ndarray:
    """(521, groups) 0/1 membership of each AudioSet class in each group."""
    membership = np.zeros((521, len(GROUP_NAMES)), dtype=bool)
    for g, ranges in enumerate(GROUPS.values()):
        for rows in ranges:
            membership[list(rows), g] = True
    return membership


_MEMBERSHIP = group_matrix()


def group_scores(class_scores: np.ndarray) -> np.ndarray:
    """Per patch, the largest score in each group: (patches, 521) -> (patches, groups)."""
    return np.stack([class_scores[:, _MEMBERSHIP[:, g]].max(axis=1) for g in range(len(GROUP_NAMES))], axis=1)


def three_class(groups: np.ndarray) -> np.ndarray:
    """What the network says alone, as our classes: each class's largest group score,
    normalised to sum to 1. (windows, groups) -> (windows, 3)."""
    scores = np.zeros((len(groups), len(CLASS_NAMES)), dtype=np.float64)
    for g, name in enumerate(GROUP_NAMES):
        c = CLASS_NAMES.index(GROUP_CLASS[name])
        scores[:, c] = np.maximum(scores[:, c], groups[:, g])
    scores = np.maximum(scores, SCORE_FLOOR)
    return (scores / scores.sum(axis=1, keepdims=True)).astype(np.float32)


def patches(samples: np.ndarray) -> np.ndarray:
    """Back-to-back patches of the recording, the last padded with silence: (patches, 15600)."""
    count = max(1, -(-len(samples) // PATCH_SAMPLES))
    padded = np.zeros(count * PATCH_SAMPLES, dtype=np.float32)
    padded[: len(samples)] = samples
    return padded.reshape(count, PATCH_SAMPLES)


def patch_windows(patch_count: int, starts_s: np.ndarray, ends_s: np.ndarray) -> list[np.ndarray]:
    """For each window, the patches whose centre lies inside it (the nearest one when none does,
    the earlier of two as near). Found by bisection over the sorted centres: a six-hour recording
    has 22,000 patches and 14,000 windows."""
    centres = (np.arange(patch_count) + 0.5) * PATCH_S
    firsts = np.searchsorted(centres, starts_s, "left")
    lasts = np.searchsorted(centres, ends_s, "left")
    chosen = []
    for first, last, start, end in zip(firsts, lasts, starts_s, ends_s):
        if last > first:
            chosen.append(np.arange(first, last))
            continue
        middle = (start + end) / 2
        after = int(np.searchsorted(centres, middle))
        near = [i for i in (after - 1, after) if 0 <= i < patch_count]
        chosen.append(np.array([min(near, key=lambda i: (abs(centres[i] - middle), i))]))
    return chosen


@dataclass
class PatchOutputs:
    scores: np.ndarray  # (patches, 521)
    embedding: np.ndarray  # (patches, 1024)
    thirds: np.ndarray  # (patches * THIRDS, 1024): each third of a patch, in time order


EMBEDDING_TENSOR = "yamnet_frames/global_average_pooling2d/Mean"
# The last layer before pooling: 3 steps of 0.325 s across the patch (x 2 bands), which the
# layered heads (ml/layers.py) read for tracks finer than a patch.
THIRDS_TENSOR = "yamnet_frames/layer14/pointwise_conv/relu/Relu"


def named(tensor_name: str, name: str) -> bool:
    """A tensor's name is the op's, or several fused ops' joined by ";"."""
    return tensor_name == name or tensor_name.startswith(name + ";")


def with_outputs(model: bytes, names: list[str]) -> bytes:
    """The TensorFlow Lite model with the tensors `names` added to its outputs, so the interpreter hands them back at full speed (keeping every tensor alive instead,
    `experimental_preserve_all_tensors`, costs about a fifth more per patch). Rewritten in memory at
    load (a tenth of a second) with the runtime's own flatbuffer schema."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    parsed = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    graph = parsed.subgraphs[0]
    found = [
        next(i for i, tensor in enumerate(graph.tensors) if named(tensor.name.decode(), name))
        for name in names
    ]
    graph.outputs = [*graph.outputs, *found]
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(parsed.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


class Pretrained:
    """The loaded network; thread-safe (one interpreter, used under a lock)."""

    def __init__(self, folder: str | Path = DEFAULT_FOLDER, threads: int = 1, embeddings: bool = False):
        from ai_edge_litert.interpreter import Interpreter

        self.folder = Path(folder)
        self.embeddings = embeddings
        model = (self.folder / MODEL_FILE).read_bytes()
        if embeddings:
            model = with_outputs(model, [EMBEDDING_TENSOR, THIRDS_TENSOR])
        self._interpreter = Interpreter(model_content=model, num_threads=threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
        self._scores = outputs["Identity"]
        self._embedding = next(
            (index for name, index in outputs.items() if named(name, EMBEDDING_TENSOR)), -1
        )
        self._thirds = next((index for name, index in outputs.items() if named(name, THIRDS_TENSOR)), -1)
        self._lock = threading.Lock()

    def patch_outputs(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Class scores (patches, 521) and, if asked at load, embeddings (patches, 1024)."""
        if not self.embeddings:
            return self._run(samples, None), None
        outputs = self.patch_layers(samples)
        return outputs.scores, outputs.embedding

    def patch_layers(self, samples: np.ndarray) -> PatchOutputs:
        """Scores, embeddings and the embedding of each third of each patch (loaded with
        embeddings=True)."""
        if not self.embeddings:
            raise ValueError("load the network with embeddings=True to read its layers")
        count = len(patches(samples))
        outputs = PatchOutputs(
            np.zeros((count, 521), np.float32),
            np.zeros((count, 1024), np.float32),
            np.zeros((count * THIRDS, 1024), np.float32),
        )
        self._run(samples, outputs)
        return outputs

    def _run(self, samples: np.ndarray, outputs: PatchOutputs | None) -> np.ndarray:
        cut = patches(samples)
        scores = np.zeros((len(cut), 521), dtype=np.float32) if outputs is None else outputs.scores
        with self._lock:
            for i, patch in enumerate(cut):
                self._interpreter.set_tensor(self._input, patch[None, :])
                self._interpreter.invoke()
                scores[i] = self._interpreter.get_tensor(self._scores)[0]
                if outputs is not None:
                    outputs.embedding[i] = self._interpreter.get_tensor(self._embedding)[0]
                    thirds = self._interpreter.get_tensor(self._thirds)[0].mean(axis=1)
                    outputs.thirds[i * THIRDS : (i + 1) * THIRDS] = thirds
        return scores

    def window_groups(self, samples: np.ndarray, starts_s: np.ndarray, ends_s: np.ndarray) -> np.ndarray:
        """Each window's mean group scores over its patches: (windows, groups)."""
        scores, _ = self.patch_outputs(samples)
        per_patch = group_scores(scores)
        return np.stack(
            [per_patch[rows].mean(axis=0) for rows in patch_windows(len(scores), starts_s, ends_s)]
        )
