"""Serve a stored clip to its owner, with HTTP range requests so the audio player can seek.

Django's FileResponse sends whole files only; browsers need `206 Partial Content` to seek.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header

from classify.infra import storage
from ml.audio import AUDIO_TYPES

# Answer at most this much per range request: players ask for "bytes=0-" and then for more.
MAX_RANGE_BYTES = 4 * 1024 * 1024
# At most 18 digits a side: more is no file size, and int() refuses past 4,300 digits.
_RANGE = re.compile(r"^bytes=([0-9]{0,18})-([0-9]{0,18})$")
_TYPES_BY_SUFFIX = dict(AUDIO_TYPES.values())
# A stored clip is only ever audio: nothing in it may run, even if a browser is asked to render it.
AUDIO_ONLY_POLICY = "default-src 'none'; media-src 'self'; sandbox"


def content_type(suffix: str) -> str | None:
    """The audio type of a stored file, from the suffix upload gave it after decoding (never the
    uploader's name); None for anything else (older uploads), which is only ever downloaded."""
    return _TYPES_BY_SUFFIX.get(suffix.lower())


def _range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single satisfiable range, else None."""
    match = _RANGE.match(header.strip())
    if not match or not (match[1] or match[2]):
        return None
    if match[1]:
        first = int(match[1])
        last = min(int(match[2]), size - 1) if match[2] else size - 1
    else:
        first, last = max(0, size - int(match[2])), size - 1
    return (first, last) if first <= last < size else None


def ranged_file_response(request, name: str, download_name: str) -> HttpResponse | FileResponse:
    """A stored file (local folder or bucket, through classify.infra.storage), whole or one range."""
    total = storage.size(name)
    suffix = PurePosixPath(name).suffix.lower()
    media_type = content_type(suffix)
    served_type = media_type or "application/octet-stream"
    header = request.headers.get("Range", "")
    response: HttpResponse | FileResponse
    if not header:
        response = FileResponse(storage.open_stored(name), content_type=served_type)
    else:
        wanted = _range(header, total)
        if wanted is None:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{total}"
            return response
        first, last = wanted
        last = min(last, first + MAX_RANGE_BYTES - 1)
        body = storage.read_range(name, first, last)
        response = HttpResponse(body, status=206, content_type=served_type)
        response["Content-Range"] = f"bytes {first}-{last}/{total}"
    response["Accept-Ranges"] = "bytes"
    # The name says what the bytes are: the uploader's stem, the stored (decoded) suffix.
    download = f"{PurePosixPath(download_name).stem or 'recording'}{suffix}"
    response["Content-Disposition"] = content_disposition_header(media_type is None, download) or ""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = AUDIO_ONLY_POLICY
    response["Cache-Control"] = "private, max-age=3600"
    return response


def audio_response(request, clip) -> HttpResponse | FileResponse:
    """A clip's stored audio for its owner (the HTML player and API clients alike)."""
    if not clip.file.name:
        raise Http404("The audio file is no longer stored.")
    try:
        return ranged_file_response(request, clip.file.name, clip.original_filename)
    except (FileNotFoundError, ValueError):
        raise Http404("The audio file is no longer stored.") from None
