"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in the schema fuzz.

- Live chunks are documented as `audio/wav`, and resumable upload parts as
  `application/offset+octet-stream`, which it has no serializers for; raw bytes are what such
  bodies are.
- Path ids are real rows most of the time, so generated requests reach the code behind the 404:
  the test's clip (FUZZ_CLIP_ID) for /api/clips/{id}/..., and for /api/live/{id}/... a session
  opened just then through the API (open -> chunks -> finish, as a client goes), since any
  generated POST /api/live/ closes the one before.
"""

import os

import schemathesis

schemathesis.serializer.alias("audio/wav", "application/octet-stream")
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    if not path_parameters or "id" not in path_parameters:
        return path_parameters
    path = context.operation.path
    real = (
        os.environ.get("FUZZ_LIVE_SESSION_ID")
        if path.startswith("/api/live/")
        else os.environ.get("FUZZ_CLIP_ID")
    )
    if real and hash(str(path_parameters["id"])) % 4:  # three in four: the real row; else what was drawn
        path_parameters["id"] = int(real) if path.startswith("/api/clips/") else real
    return path_parameters
