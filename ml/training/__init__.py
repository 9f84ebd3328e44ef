"""Training and evaluation on top of the serving library: the corpus, augmentation, Keras networks,
presets, cross-validation. Imports TensorFlow where it must; nothing on the serving path imports it."""
