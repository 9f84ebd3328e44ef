"""The API's JSON parser: DRF's, refusing JSON nested too deeply to read with a 400 and a sentence
(Python's decoder raises RecursionError on it, which would be a server error)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("The JSON is nested too deeply to read.") from None
