"""Rows written out as they are read, as CSV or JSON: the one writer behind every export, so an
export of 20,000 clips or a six-hour timeline never sits in memory."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

# A cell a spreadsheet would run as a formula starts with one of these (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula, quoted with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Line:
    """A file-like sink that hands csv.writer's line back instead of keeping it."""

    def write(self, text: str) -> str:
        return text


def cell(value: Any) -> Any:
    """A value as one spreadsheet cell: a list joined with "; " (tags as "Rain 0.61")."""
    if isinstance(value, list):
        return "; ".join(
            f"{item['name']} {item['score']}" if isinstance(item, dict) else str(item) for item in value
        )
    return spreadsheet_safe(value)


def csv_lines(rows: Iterable[dict[str, Any]], fields: list[str]) -> Iterator[str]:
    writer = csv.DictWriter(_Line(), fieldnames=fields, extrasaction="ignore")
    yield writer.writeheader()
    for row in rows:
        yield writer.writerow({key: cell(value) for key, value in row.items()})


def json_lines(rows: Iterable[dict[str, Any]], fields: list[str]) -> Iterator[str]:
    """A JSON array, one object a line, written as the rows come."""
    yield "["
    for n, row in enumerate(rows):
        yield ("\n" if n == 0 else ",\n") + json.dumps({key: row.get(key) for key in fields})
    yield "\n]\n"


CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def response(
    rows: Iterable[dict[str, Any]], fields: list[str], kind: str, filename: str
) -> StreamingHttpResponse:
    lines = csv_lines(rows, fields) if kind == "csv" else json_lines(rows, fields)
    return attachment(lines, CONTENT_TYPES[kind], filename)


def attachment(lines: Iterable[str], content_type: str, filename: str) -> StreamingHttpResponse:
    reply = StreamingHttpResponse(lines, content_type=content_type)
    reply["Content-Disposition"] = f'attachment; filename="{filename}"'
    return reply
