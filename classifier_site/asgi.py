"""ASGI entry point for the events server: `gunicorn -k asgi classifier_site.asgi` (run.py starts
it; nginx sends it GET /api/clips/events/ only). The same Django project as the WSGI server, so the
same imports (no TensorFlow); its streams wait on one event loop, not a thread each."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classifier_site.settings")
application = get_asgi_application()
