"""Settings for the test suite: the real ones, plus a private media folder and fast hashing."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-" + "0123456789abcdefghijklmnopqrstuvwxyz")

from classifier_site.env import envbool, envrate  # noqa: E402
from classifier_site.settings import *  # noqa: E402,F403

MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or tempfile.mkdtemp(prefix="classifier-test-media-"))
RESUMABLE_DIR = MEDIA_ROOT.parent / (MEDIA_ROOT.name + "-resumable")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# Tests that are not about the queue run tasks in the caller; the queue tests start a qcluster.
# (A qcluster started by a test says CLASSIFY_SYNC=false: its requeues go through the queue.)
CLASSIFY_SYNC = envbool("CLASSIFY_SYNC", True)  # noqa: F405
# Limits high enough for the suite; the tests about limits set their own.
UPLOAD_RATE = "1000/minute"
CORRECTION_RATE = "1000/minute"
SIGNUP_RATE = "1000/minute"
LIVE_CHUNK_RATE = envrate("LIVE_CHUNK_RATE", "1000/minute")
UPLOAD_DECODE_RATE = "1000000/hour"
# CI machines may have little free disk; the test of the floor sets its own.
RESUMABLE_FREE_FLOOR_BYTES = 0
# Serve static files straight from the source folders, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405  (no connection outlives a test)
HEALTH_TOKEN = "tests-health-token"
