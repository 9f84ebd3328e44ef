"""`manage.py qcluster`: django-q2's cluster, made to stop within seconds when its whole process
group gets SIGTERM (what systemd and container runtimes send).

django-q2's sentinel resets SIGTERM to its default action, so a SIGTERM to the group kills the
sentinel at once, sometimes while it holds the lock of the cluster's stop event; the main process
then waits on that lock (seen: 45 s and more). Here the sentinel and the processes it forks ignore
SIGTERM, and the main process alone turns it into django-q2's own graceful stop (the pusher stops,
each worker finishes the clip in hand, results are saved), as SIGINT always did. Whatever is still
running QCLUSTER_STOP_GRACE_S seconds later is killed; its clip's lease runs out and another
worker takes it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading

import psutil
from django.conf import settings
from django_q import cluster
from django_q.management.commands.qcluster import Command as DjangoQClusterCommand

logger = logging.getLogger(__name__)


class SentinelIgnoringTerm(cluster.Sentinel):
    def start(self):
        # Set before the sentinel forks its pusher, monitor and workers: they inherit it.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        super().start()


def kill_what_is_left() -> None:
    children = psutil.Process().children(recursive=True)
    logger.error("qcluster did not stop in time: killing %d processes", len(children))
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    os._exit(1)


class GracefulCluster(cluster.Cluster):
    def sig_handler(self, signum, frame):
        if not getattr(self, "_deadline", None):
            self._deadline = threading.Timer(settings.QCLUSTER_STOP_GRACE_S, kill_what_is_left)
            self._deadline.daemon = True
            self._deadline.start()
        super().sig_handler(signum, frame)


class Command(DjangoQClusterCommand):
    help = "Starts the django-q2 cluster (workers that classify clips); stops cleanly on SIGTERM."

    def handle(self, *args, **options):
        settings.SECRET_KEY  # noqa: B018  (signing needs it: fail now, not in a worker)
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        cluster.Sentinel = SentinelIgnoringTerm  # Cluster.start() forks the module's Sentinel
        q = GracefulCluster()
        q.start()
        if options.get("run_once", False):
            q.stop()
