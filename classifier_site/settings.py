"""One settings file, driven by environment variables (see the README's table).

Production needs SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS and HTTPS=true; everything else has a
default that works on a developer's machine.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from classifier_site import queues
from classifier_site.env import envbool, envchoice, envfraction, envint, envlist, envrate, envstr
from classifier_site.storage_settings import file_storage
from ml import CLASS_NAMES, TIMELINE_LABELS

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("DEBUG", False)
# SECRET_KEY from the environment, else the file `make run` writes (var/secret_key), so every
# command on this machine (`make superuser`, manage.py) signs with the same key.
SECRET_KEY_FILE = Path(envstr("SECRET_KEY_FILE", str(VAR_DIR / "secret_key")))
SECRET_KEY = envstr("SECRET_KEY") or (
    SECRET_KEY_FILE.read_text().strip() if SECRET_KEY_FILE.is_file() else ""
)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (`make run` makes one).")
    SECRET_KEY = "insecure-development-key-never-use-in-production"
elif not DEBUG and (
    len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure")
):
    # Django's own rule for a key that can be guessed (check security.W009), made fatal.
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak: use at least 50 characters with at least 5 different ones, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

# Behind HTTPS (production), cookies are secure and plain HTTP is redirected.
HTTPS = envbool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", HTTPS)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Before django_q: its `qcluster` command is classify's (a clean stop on SIGTERM).
    "classify",
    "django_q",
    "axes",
    "accounts",
]

MIDDLEWARE = [
    "classifier_site.middleware.HealthProbes",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "classifier_site.middleware.RefuseControlCharacters",
    # Last, as django-axes asks: it turns a locked-out sign-in into its lock-out response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "classifier_site.urls"
WSGI_APPLICATION = "classifier_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL everywhere. Without DATABASE_URL: the embedded server that `make run` and
# `make test` start from the pgserver wheel, listening on a socket in var/pgdata.
EMBEDDED_DATABASE_DIR = VAR_DIR / "pgdata"
DATABASE_URL = envstr("DATABASE_URL", f"postgresql://postgres@/classifier?host={EMBEDDED_DATABASE_DIR}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgresql://...).")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A pool of at most DB_POOL_MAX connections per process (0: none, one connection per thread). The
# events server uses one: under ASGI every request, and so every one of a thousand streams, would
# otherwise open a connection of its own (classify/events/stream.py).
DB_POOL_MAX = envint("DB_POOL_MAX", 0)
if DB_POOL_MAX:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them: Django must not
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DB_POOL_MAX,
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out name and address (or a spraying address) is refused before the
    # password is even checked.
    "accounts.lockout.AddressSprayBackend",
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in lock-out (django-axes), for the login page and the API token endpoint alike: after
# LOGIN_FAILURE_LIMIT wrong passwords for one user name *from one client address*, that pair is
# refused for LOGIN_LOCKOUT_MINUTES, then unlocked by itself. By the pair, so failures from an
# office NAT or an unconfigured proxy never lock out someone else, and guessing at a name that
# does not exist locks out nobody real. Password sprays (many names from one address) meet the
# slower per-address LOGIN_ADDRESS_FAILURE_RATE instead (accounts/lockout.py).
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
LOGIN_ADDRESS_FAILURE_RATE = envrate("LOGIN_ADDRESS_FAILURE_RATE", "50/hour")
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.locked_out"
AXES_USERNAME_CALLABLE = "accounts.lockout.username_of"
# Reverse proxies in front of gunicorn that append to X-Forwarded-For (0: clients connect directly).
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

EMAIL_BACKEND = envstr("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "classifier@localhost")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"  # never served directly: audio goes through an owner-checking view
# Uploaded audio (and model files): the local MEDIA_ROOT by default, an S3-compatible bucket
# when S3_BUCKET is set (classifier_site/storage_settings.py). Code reaches the files only through
# classify/infra/storage.py.
S3_BUCKET = envstr("S3_BUCKET")
STORAGES = {
    "default": file_storage(),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploads: refused above these limits with a message, before any work is queued. Six hours is
# what the streaming worker handles here in flat memory (ml/streaming.py; `make bench-long`);
# 4 GiB holds six hours of 44.1 kHz stereo 16-bit WAV (3.8 GB).
UPLOAD_MAX_BYTES = envint("UPLOAD_MAX_BYTES", 4 * 1024 * 1024 * 1024, minimum=1)
UPLOAD_MAX_DURATION_S = envint("UPLOAD_MAX_DURATION_S", 6 * 3600, minimum=1)
# Samples to decode (length x rate x channels), read from the header before any decoding: a few
# megabytes can hold hours of many channels at 384 kHz. Six hours of 48 kHz stereo by default.
UPLOAD_MAX_SAMPLES = envint("UPLOAD_MAX_SAMPLES", 6 * 3600 * 48_000 * 2, minimum=1)
# Decoding per user and hour, in minutes of 48 kHz stereo (length x rate x channels, from the
# header): 24 hours' worth by default, four of the largest uploads an hour, whatever their size.
UPLOAD_DECODE_RATE = envrate("UPLOAD_DECODE_RATE", "1440/hour")
# Uploads up to this long are decoded whole as they are accepted; a longer one has its header and
# first UPLOAD_WHOLE_CHECK_S checked, the rest as the long recordings' worker classifies it (the
# same checks, its message on the clip), so accepting six hours takes seconds, not minutes.
UPLOAD_WHOLE_CHECK_S = envint("UPLOAD_WHOLE_CHECK_S", 10 * 60, minimum=1)
# Files per user (HTML form and API together, counted per file) and corrections per user.
UPLOAD_RATE = envrate("UPLOAD_RATE", "120/hour")
CORRECTION_RATE = envrate("CORRECTION_RATE", "60/minute")
# New accounts per client address (behind TRUSTED_PROXY_COUNT proxies, the forwarded one).
SIGNUP_RATE = envrate("SIGNUP_RATE", "10/hour")
# Bytes of audio one user may keep stored (0: no quota).
# Resumable uploads (tus): parts wait in this folder of the web machine (shared, or sticky
# routing, when there are several) and are removed when unfinished for RESUMABLE_EXPIRE_S.
RESUMABLE_DIR = Path(envstr("RESUMABLE_DIR", str(VAR_DIR / "resumable")))
RESUMABLE_EXPIRE_S = envint("RESUMABLE_EXPIRE_S", 24 * 3600, minimum=60)
# Free space RESUMABLE_DIR keeps for everyone: a new upload in parts is refused (507) when what the
# uploads under way still have to send, and its own length, would leave less than this.
RESUMABLE_FREE_FLOOR_BYTES = envint("RESUMABLE_FREE_FLOOR_BYTES", 1024**3, minimum=0)
USER_STORAGE_QUOTA_BYTES = envint("USER_STORAGE_QUOTA_BYTES", 10 * 1024 * 1024 * 1024)
# Live sessions: at most this long, closed after this long without a chunk, chunks of at most
# this many seconds; a chunk request waits at most LIVE_WAIT_S for its windows.
LIVE_MAX_S = envint("LIVE_MAX_S", min(UPLOAD_MAX_DURATION_S, 30 * 60))  # its audio waits in PostgreSQL
LIVE_IDLE_S = envint("LIVE_IDLE_S", 120)
LIVE_MAX_CHUNK_S = 5
# Live chunks per user (a recorder sends one a second; two let a stalled one catch up).
# Per second, not per minute: a per-minute budget is a burst of a hundred chunks at once.
LIVE_CHUNK_RATE = envrate("LIVE_CHUNK_RATE", "2/second")
# Live sessions opened per user, and how long a closed one's windows are kept.
LIVE_SESSION_RATE = envrate("LIVE_SESSION_RATE", "30/hour")
LIVE_KEEP_S = envint("LIVE_KEEP_S", 7 * 24 * 3600, minimum=60)
LIVE_WAIT_S = float(envint("LIVE_WAIT_MS", 1500)) / 1000
# Event streams (GET /api/clips/events/, classify/events/): a comment every EVENT_KEEPALIVE_S on
# an idle stream (proxies and clients see it alive), an end after EVENT_STREAM_MAX_S (the client
# reconnects where it left off), at most EVENT_STREAMS_PER_USER open per user and web process,
# and at most EVENT_STREAMS_THREADED per process where each holds a thread (a WSGI server; the
# ASGI events server holds them all on one thread). Beyond either, 429 / 503: pages then poll.
EVENT_KEEPALIVE_S = envint("EVENT_KEEPALIVE_S", 15, minimum=1)
EVENT_STREAM_MAX_S = envint("EVENT_STREAM_MAX_S", 600, minimum=5)
EVENT_STREAMS_PER_USER = envint("EVENT_STREAMS_PER_USER", 20, minimum=1)
EVENT_STREAMS_THREADED = envint("EVENT_STREAMS_THREADED", 4, minimum=0)
# A failed clip's file is kept this long (for staff to look at), then removed by the sweeper.
FAILED_CLIP_RETENTION_S = envint("FAILED_CLIP_RETENTION_S", 7 * 24 * 3600)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Larger uploads go to temporary files here while they arrive; the sweeper removes what a killed
# request left behind (classify/clips/removal.py).
FILE_UPLOAD_TEMP_DIR = envstr("FILE_UPLOAD_TEMP_DIR", str(VAR_DIR / "upload-tmp"))

# Classification model: the folder holding model.keras and metadata.json.
CLASSIFIER_MODEL_DIR = Path(envstr("CLASSIFIER_MODEL_DIR", str(BASE_DIR / "ml" / "models" / "mfcc")))
# Model versions fetched from the storage are kept here, one folder per version.
MODEL_CACHE_DIR = Path(envstr("MODEL_CACHE_DIR", str(VAR_DIR / "model-cache")))
# Training from admin or `manage.py train_model`: the corpus, the recipe, a cap on epochs (empty:
# the recipe's), and how long a training task may run.
TRAINING_CORPUS_DIR = Path(envstr("TRAINING_CORPUS_DIR", str(BASE_DIR.parent / "shared" / "corpus")))
TRAINING_PRESET = envstr("TRAINING_PRESET", "cnn2d-yamnet")
TRAINING_EPOCHS = envint("TRAINING_EPOCHS", 0)
TRAINING_TIMEOUT_S = envint("TRAINING_TIMEOUT_S", 4 * 3600, minimum=1)
# A training run whose worker has not renewed it for this long (killed, restarted) is failed.
TRAINING_LEASE_S = envint("TRAINING_LEASE_S", 60, minimum=5)
# /readyz says "degraded" when the oldest queued clip has waited longer than this, and the
# upload page says "taking longer than usual" after UPLOAD_SLOW_S of waiting.
READY_QUEUE_AGE_MAX_S = envint("READY_QUEUE_AGE_MAX_S", 120, minimum=1)
# Share of the users with corrections whose corrections are held out of training, to measure on.
TRAINING_HELD_OUT_USERS = envfraction("TRAINING_HELD_OUT_USERS", 0.25)
# Run tasks in the caller instead of the queue (tests that are not about the queue).
CLASSIFY_SYNC = envbool("CLASSIFY_SYNC", False)
# Our own retry cap: a clip whose task died this many times is marked failed, not retried again.
CLASSIFY_MAX_ATTEMPTS = envint("CLASSIFY_MAX_ATTEMPTS", 3, minimum=1)
# Seconds a task may run before django-q2 kills it; a 30-minute file takes about 5 s warm.
CLASSIFY_TASK_TIMEOUT_S = envint("CLASSIFY_TASK_TIMEOUT_S", 300, minimum=1)
# A long clip's task limit grows with its length, as if classified at this many times real time
# (workers here do several hundred): six hours get 18 minutes, not CLASSIFY_TASK_TIMEOUT_S.
CLASSIFY_MIN_SPEED = envint("CLASSIFY_MIN_SPEED", 20, minimum=1)
# A worker holds a lease on the clip it classifies and its keeper thread renews it every sixth of
# this (the worker's heartbeat, apart from the work, so a slow clip keeps it); a clip whose lease
# ran out (its worker was killed) is requeued by any living worker's keeper: done again within
# about this plus a tick.
CLASSIFY_LEASE_S = envint("CLASSIFY_LEASE_S", 10, minimum=1)
# A long clip's progress is stored (and streamed) after the block that passes this many seconds
# of work (a block, two minutes of audio, takes well under a second).
CLASSIFY_PROGRESS_EVERY_S = envint("CLASSIFY_PROGRESS_EVERY_MS", 3500, minimum=1) / 1000
# A clip queued this long has probably lost its task (prefetched by a worker that was killed, or
# a broker emptied): it is queued once more (a duplicate task is skipped by the claim).
CLASSIFY_REQUEUE_AFTER_S = envint("CLASSIFY_REQUEUE_AFTER_S", 120)

# On SIGTERM a qcluster lets each worker finish its clip, and kills what runs after this long.
QCLUSTER_STOP_GRACE_S = envint("QCLUSTER_STOP_GRACE_S", 8)

# Monitors that send "Authorization: Bearer HEALTH_TOKEN" to /readyz see each check's detail;
# everyone else sees only ready or not ready.
HEALTH_TOKEN = envstr("HEALTH_TOKEN")
REDIS_URL = envstr("REDIS_URL")
# One cache shared by every web process and machine (throttles and limits count there): Redis
# when REDIS_URL is set, else a table in PostgreSQL (`manage.py createcachetable`, run by migrate).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "shared_cache"}
}
Q_CLUSTER = {
    "name": "classify",
    "workers": envint("Q_WORKERS", 1, minimum=1),
    "timeout": CLASSIFY_TASK_TIMEOUT_S,
    # Must exceed the timeout, or a slow task is handed to a second worker.
    "retry": max(CLASSIFY_TASK_TIMEOUT_S, UPLOAD_MAX_DURATION_S // CLASSIFY_MIN_SPEED) + 60,
    # django-q2 does not re-run a failed task; our attempt counter and sweeper decide.
    "max_attempts": 1,
    "ack_failures": True,
    # Recycle workers so a leak cannot grow without bound (max_rss is in kB).
    "recycle": envint("Q_RECYCLE", 500),
    "max_rss": envint("Q_MAX_RSS_KB", 2_000_000),
    "catch_up": False,
    # Task results kept (0: all; the load bench counts every clip's completions in them).
    "save_limit": envint("Q_SAVE_LIMIT", 1000),
    "label": "Task queue",
    "poll": 0.05,
}
# Live windows and model training have queues of their own, each served by its own cluster
# (`Q_CLUSTER_NAME=<queue> manage.py qcluster`; `make run` starts all three, training under
# `nice`), so neither a live flood nor a four-hour training run can hold up anyone's clips.
LIVE_QUEUE, TRAINING_QUEUE, LONG_QUEUE = queues.LIVE_QUEUE, queues.TRAINING_QUEUE, queues.LONG_QUEUE
# Clips this long or longer go to LONG_QUEUE's worker; shorter ones pass them on the clips' own.
LONG_CLIP_S = envint("LONG_CLIP_S", 10 * 60, minimum=1)
# The clips' queue, named wherever a clip's task is sent: a live or training worker's keeper that
# sends a clip again must not send it into its own cluster's queue.
CLIPS_QUEUE = Q_CLUSTER["name"]
LIVE_NICENESS, TRAINING_NICENESS = queues.LIVE_NICENESS, queues.TRAINING_NICENESS
Q_CLUSTER["ALT_CLUSTERS"] = {
    LIVE_QUEUE: {"workers": envint("Q_LIVE_WORKERS", 1, minimum=1), "timeout": 60, "retry": 120},
    LONG_QUEUE: {"workers": envint("Q_LONG_WORKERS", 1, minimum=1)},
    TRAINING_QUEUE: {
        "workers": 1,
        "timeout": TRAINING_TIMEOUT_S,
        "retry": TRAINING_TIMEOUT_S + 600,
        "recycle": 1,  # a fresh process per run: training's memory goes with it
        "max_rss": envint("Q_TRAINING_MAX_RSS_KB", 8_000_000),
    },
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "classify.infra.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Audio classifier API",
    "DESCRIPTION": "Upload audio clips and read their music / speech / noise classification.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the sidecar package, not a CDN: the site works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ClassLabelEnum": [(name, name) for name in CLASS_NAMES],
        "TimelineLabelEnum": [(name, name) for name in TIMELINE_LABELS],
    },
}

# Plain lines for people, or one JSON object per line (LOG_FORMAT=json) for log collectors; a
# worker's lines carry the clip they are about (clip_id) either way (classify/infra/log_context.py).
LOG_FORMAT = envchoice("LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"clip_id": {"()": "classify.infra.log_context.ClipIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [clip %(clip_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(process)d %(clip_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["clip_id"]}
    },
    "root": {
        "handlers": ["console"],
        "level": envchoice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    },
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
