"""Resumable uploads through the API, over the tus protocol (classify/clips/resumable.py):

POST   /api/uploads/        Upload-Length, Upload-Metadata (filename) -> 201, Location
HEAD   /api/uploads/<id>/   -> Upload-Offset, Upload-Length: where to continue from
PATCH  /api/uploads/<id>/   Upload-Offset, application/offset+octet-stream body -> 204, Upload-Offset
                            (the last part answers Upload-Clip-Id and Upload-Clip-Url too)
DELETE /api/uploads/<id>/   -> 204, the parts removed
OPTIONS /api/uploads/       -> what the server supports
"""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from classify.api.serializers import ErrorSerializer
from classify.clips import intake, resumable
from classify.models import ResumableUpload

TUS_HEADERS = {"Tus-Resumable": resumable.TUS_VERSION}
# Sent with every request but OPTIONS, and answered with every reply (412 for another version).
TUS_RESUMABLE = OpenApiParameter(
    "Tus-Resumable",
    str,
    OpenApiParameter.HEADER,
    required=True,
    enum=[resumable.TUS_VERSION],
    description="the tus protocol's version",
)
ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class OffsetStreamParser(BaseParser):
    """Accepted, never parsed: a part's body is read as a stream by the view."""

    media_type = "application/offset+octet-stream"

    def parse(self, stream, media_type=None, parser_context=None):
        return b""


def _tus(response: HttpResponse, **headers: str) -> HttpResponse:
    for name, value in {**TUS_HEADERS, **headers}.items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def _refused(message: str, code: int = 400) -> Response:
    return _tus(Response({"detail": message}, status=code))


def _header_int(request, name: str) -> int | None:
    text = request.headers.get(name, "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def filename_from(metadata: str) -> str:
    """Upload-Metadata: comma-separated "key base64value" pairs; the file's name if given."""
    for pair in metadata.split(","):
        key, _, value = pair.strip().partition(" ")
        if key in ("filename", "name") and value:
            try:
                return base64.b64decode(value, validate=True).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                return "recording"
    return "recording"


def _version_refused(request) -> Response | None:
    version = request.headers.get("Tus-Resumable")
    if version is not None and version != resumable.TUS_VERSION:
        return _tus(Response({"detail": f"This server speaks tus {resumable.TUS_VERSION}."}, status=412),
                    **{"Tus-Version": resumable.TUS_VERSION})  # fmt: skip
    return None


class ResumableUploadsView(APIView):
    """Start a resumable upload (tus creation), or ask what the server supports."""

    parser_classes = [OffsetStreamParser]

    def options(self, request, *args, **kwargs):
        return _tus(
            HttpResponse(status=204),
            **{
                "Tus-Version": resumable.TUS_VERSION,
                "Tus-Extension": "creation,termination",
                "Tus-Max-Size": str(settings.UPLOAD_MAX_BYTES),
            },
        )

    @extend_schema(
        request=None,
        parameters=[
            OpenApiParameter(
                "Upload-Length",
                int,
                OpenApiParameter.HEADER,
                required=True,
                description="the whole file's size in bytes",
            ),
            OpenApiParameter(
                "Upload-Metadata", str, OpenApiParameter.HEADER, description='"filename <base64 of the name>"'
            ),
            TUS_RESUMABLE,
            OpenApiParameter(
                "Location",
                str,
                OpenApiParameter.HEADER,
                response=[201],
                description="where to send the parts (PATCH) and ask how far it got (HEAD)",
            ),
            OpenApiParameter("Upload-Offset", int, OpenApiParameter.HEADER, response=[201], description="0"),
        ],  # fmt: skip
        responses={
            201: None,
            413: ErrorSerializer,
            429: ErrorSerializer,
            412: ErrorSerializer,
            507: ErrorSerializer,
            **ERRORS,
        },  # fmt: skip
    )
    def post(self, request):
        """Begin an upload of Upload-Length bytes; send its parts to the Location answered."""
        if refused := _version_refused(request):
            return refused
        length = _header_int(request, "Upload-Length")
        if length is None:
            return _refused("Upload-Length must be the file's size in bytes.")
        try:
            upload = resumable.begin(
                request.user, length, filename_from(request.headers.get("Upload-Metadata", ""))
            )
        except resumable.ResumableRefused as error:
            return _refused(str(error), error.status)
        except intake.UploadThrottled as error:
            response = _refused(str(error), 429)
            response["Retry-After"] = str(round(error.wait_s))
            return response
        except intake.UploadRejected as error:
            return _refused(str(error))
        location = request.build_absolute_uri(reverse("api-upload-detail", args=[upload.pk]))
        return _tus(HttpResponse(status=201), Location=location, **{"Upload-Offset": "0"})


class ResumableUploadView(APIView):
    """One resumable upload of the signed-in user: where it stands, its next part, or its end."""

    parser_classes = [OffsetStreamParser]

    def _own(self, request, upload_id) -> ResumableUpload:
        upload = ResumableUpload.objects.for_user(request.user).filter(pk=upload_id).first()
        if upload is None:
            raise NotFound("No such upload: it finished, expired or was never yours.")
        return upload

    def head(self, request, upload_id):
        upload = self._own(request, upload_id)
        return _tus(
            HttpResponse(status=200),
            **{"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length)},
        )

    @extend_schema(
        request={"application/offset+octet-stream": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter(
                "Upload-Offset",
                int,
                OpenApiParameter.HEADER,
                required=True,
                description="where this part starts: the offset HEAD answered",
            ),
            TUS_RESUMABLE,
            OpenApiParameter(
                "Upload-Offset",
                int,
                OpenApiParameter.HEADER,
                response=[204],
                description="how many bytes the server holds now: where the next part starts",
            ),
            OpenApiParameter(
                "Upload-Clip-Id",
                int,
                OpenApiParameter.HEADER,
                response=[204],
                description="after the last part only: the clip made of the file",
            ),
            OpenApiParameter(
                "Upload-Clip-Url",
                str,
                OpenApiParameter.HEADER,
                response=[204],
                description="after the last part only: the clip's API address",
            ),
        ],  # fmt: skip
        responses={
            204: None,
            409: ErrorSerializer,
            412: ErrorSerializer,
            413: ErrorSerializer,
            415: ErrorSerializer,
            507: ErrorSerializer,
            **ERRORS,
        },  # fmt: skip
    )
    def patch(self, request, upload_id):
        """Send the next part; the last one makes the clip (its id in Upload-Clip-Id)."""
        if refused := _version_refused(request):
            return refused
        upload = self._own(request, upload_id)
        if request.content_type.split(";")[0].strip() != OffsetStreamParser.media_type:
            return _refused(f"A part's Content-Type is {OffsetStreamParser.media_type}.", 415)
        offset = _header_int(request, "Upload-Offset")
        if offset is None:
            return _refused("Upload-Offset must be where this part starts, in bytes.")
        declared = _header_int(request, "Content-Length")
        raw = request._request  # the WSGI stream itself: a part is read a megabyte at a time
        try:
            clip = resumable.append(upload, offset, raw.read, declared)
        except resumable.ResumableRefused as error:
            return _refused(str(error), error.status)
        except intake.StorageFull as error:
            return _refused(str(error), 507)
        except intake.UploadRejected as error:
            return _refused(str(error))
        current = ResumableUpload.objects.filter(pk=upload.pk).values_list("offset", flat=True).first()
        if current is None and clip is None:  # removed while the part came in: never "complete"
            raise NotFound("This upload expired or was removed while the part was sent; start again.")
        headers = {"Upload-Offset": str(current if current is not None else upload.length)}
        if clip is not None:
            headers["Upload-Clip-Id"] = str(clip.pk)
            headers["Upload-Clip-Url"] = request.build_absolute_uri(
                reverse("api-clip-detail", args=[clip.pk])
            )
        return _tus(HttpResponse(status=204), **headers)

    @extend_schema(request=None, responses={204: None, **ERRORS})
    def delete(self, request, upload_id):
        """Give up an upload: its parts are removed."""
        resumable.remove(self._own(request, upload_id))
        return _tus(HttpResponse(status=status.HTTP_204_NO_CONTENT))
