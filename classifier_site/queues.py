"""The names of the django-q2 queues beside the clips' (each served by its own cluster:
`Q_CLUSTER_NAME=<name> manage.py qcluster`). Here, not in settings, so classifier_site/run.py
can start the clusters without loading Django's settings."""

LIVE_QUEUE = "classify-live"
TRAINING_QUEUE = "classify-training"
# Clips of LONG_CLIP_S and more: a worker of their own, so an hour-long recording never holds up
# a short clip (issue 27: three 6-hour files made another user's 2-second clip wait 188 s).
LONG_QUEUE = "classify-long"

# Niceness of each queue's cluster under `make run` (and the tests): clips first, then live
# windows, then training, so a live flood or a training run cannot slow anyone's clip down.
LONG_NICENESS = 5
LIVE_NICENESS = 10
TRAINING_NICENESS = 19
