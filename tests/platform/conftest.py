"""tests/platform: Django in this process against a real PostgreSQL; tasks run in the caller."""

from tests.django_layer import (  # noqa: F401  (fixtures: autouse, and alice and bob)
    alice,
    alice_api,
    alice_browser,
    bob,
    bob_api,
    no_stray_database_sessions,
    private_media_root,
)
