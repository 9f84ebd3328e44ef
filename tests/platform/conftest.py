"""tests/platform: Django in this process against a real PostgreSQL; tasks run in the caller."""

from tests.django_layer import no_stray_database_sessions, private_media_root  # noqa: F401  (autouse)
