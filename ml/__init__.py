"""Audio classification core: decoding, MFCC features, Keras models, training, evaluation, inference.

Plain Python with no Django imports, so it can be trained, tested and benchmarked on its own.
"""

CLASS_NAMES = ("music", "speech", "noise")
