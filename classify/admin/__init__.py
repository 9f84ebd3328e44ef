"""Django admin, an edge run by the web process: clips and their results, model versions."""

from classify.admin import clips, model_versions  # noqa: F401  (registers the model admins)
