"""Audio classification core: decoding, MFCC features, Keras models, training, evaluation, inference.

Plain Python with no Django imports, so it can be trained, tested and benchmarked on its own.
"""

CLASS_NAMES = ("music", "speech", "noise")
# What a timeline may also say where there is nothing to classify (ml/inference.py).
SILENCE = "silence"
TIMELINE_LABELS = (*CLASS_NAMES, SILENCE)
