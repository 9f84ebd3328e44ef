"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in the schema fuzz: live chunks are documented as
`audio/wav`, which it has no serializer for; raw bytes are what such a body is."""

import schemathesis

schemathesis.serializer.alias("audio/wav", "application/octet-stream")
