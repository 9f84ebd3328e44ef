"""The names of the django-q2 queues beside the clips' (each served by its own cluster:
`Q_CLUSTER_NAME=<name> manage.py qcluster`). Here, not in settings, so classifier_site/run.py
can start the clusters without loading Django's settings."""

LIVE_QUEUE = "classify-live"
TRAINING_QUEUE = "classify-training"

# Niceness of each queue's cluster under `make run` (and the tests): clips first, then live
# windows, then training, so a live flood or a training run cannot slow anyone's clip down.
LIVE_NICENESS = 10
TRAINING_NICENESS = 19
