"""GET /api/clips/events/: the user's clips as server-sent events, each the clip's JSON as
GET /api/clips/{id}/ returns it, as its status, progress and result change (classify/events/)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from classify.api.serializers import ErrorSerializer, FieldErrorsSerializer
from classify.api.views import ClipViewSet
from classify.clips import public
from classify.events.feed import Feed
from classify.events.hub import hub
from classify.events.stream import async_frames, threaded_frames
from classify.models import Clip


class EventStreamRenderer(BaseRenderer):
    """Lets a client ask for text/event-stream; a refusal is still sent as JSON text."""

    media_type = "text/event-stream"
    format = "event-stream"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return json.dumps(data).encode()


class TooManyStreams(APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many event streams open; close a page or poll instead."


class NoStreamThread(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "No event stream can be held here now; poll the clip instead."


# One server-sent event as a client reads it (comments and `retry:` aside).
EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["ready", "clip", "deleted"]},
        "id": {"type": "string", "description": "the change's number (Last-Event-ID to resume after it)"},
        "data": {
            "type": "string",
            "description": 'JSON: ready {"resumed_after": N or null}; clip: the clip as GET /api/clips/{id}/; '
            'deleted {"id": N}',
        },
        "retry": {"type": "integer"},
    },
}


def whole_number(text: str | None, name: str) -> int | None:
    if text is None or text == "":
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ValidationError({name: ["A whole number."]})
    return int(text)


class ClipEventsView(APIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        operation_id="clips_events",
        parameters=[
            OpenApiParameter("clip", int, description="one clip's events only (else all of the user's)"),
            OpenApiParameter(
                "Last-Event-ID",
                int,
                location=OpenApiParameter.HEADER,
                description="resume: every clip that changed after this event, in its current state",
            ),
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                EVENT_SCHEMA,
                description="`event: ready` first, then `event: clip` (data: the clip's JSON, id: its "
                'change number) and `event: deleted` (data: {"id": N}); a comment every '
                f"{settings.EVENT_KEEPALIVE_S} s when idle; the stream ends after "
                f"{settings.EVENT_STREAM_MAX_S} s and the client reconnects with Last-Event-ID",
            ),
            400: FieldErrorsSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            429: ErrorSerializer,
            503: ErrorSerializer,
        },
    )
    def get(self, request):
        clip_id = whole_number(request.query_params.get("clip"), "clip")
        last_id = whole_number(request.headers.get("Last-Event-ID"), "Last-Event-ID")
        if clip_id is not None and not Clip.objects.for_user(request.user).filter(pk=clip_id).exists():
            raise NotFound()
        threaded = not isinstance(request._request, ASGIRequest)
        if hub.count(request.user.pk) >= settings.EVENT_STREAMS_PER_USER:
            raise TooManyStreams()
        if threaded and hub.count() >= settings.EVENT_STREAMS_THREADED:
            raise NoStreamThread()

        def render(clips: QuerySet[Clip]) -> list[tuple[int, dict[str, Any], float | None]]:
            return [
                (clip.event_seq, ClipViewSet.detail_row(clip, request), public.turns_late_at(clip))
                for clip in ClipViewSet.detailed(clips)
            ]

        feed = Feed(request.user, clip_id, last_id, render)
        if not threaded:  # the stream's queries run on connections of their own (classify/events/stream.py)
            connections.close_all()
        frames = threaded_frames(feed) if threaded else async_frames(feed)
        response = StreamingHttpResponse(frames, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: pass each event on as it comes
        return response
