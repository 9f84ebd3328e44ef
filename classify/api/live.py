"""Live classification through the API: open a session, send WAV chunks, finish into a clip."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from classify.api.serializers import ClipSerializer, ErrorSerializer, FieldErrorsSerializer, TracksSerializer
from classify.clips import intake
from classify.live import sessions
from classify.models import Clip, LiveSession
from ml import TIMELINE_LABELS


class ChunkTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The chunk is too large."


class WavParser(BaseParser):
    """The request body as bytes: one WAV chunk, read no further than a valid chunk can reach
    (DRF hands a parser the raw stream, so Django's upload limits do not apply here)."""

    media_type = "audio/*"

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return b""
        limit = sessions.max_chunk_bytes()
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise ChunkTooLarge(
                f"A chunk may hold at most {settings.LIVE_MAX_CHUNK_S} s of audio ({limit // 1024} kB)."
            )
        return data


class LiveWindowSerializer(serializers.Serializer):
    start = serializers.FloatField()
    end = serializers.FloatField()
    label = serializers.ChoiceField(choices=TIMELINE_LABELS)
    probabilities = serializers.DictField(child=serializers.FloatField())
    uncertain = serializers.BooleanField()


class LiveSessionSerializer(serializers.ModelSerializer):
    windows = LiveWindowSerializer(many=True)
    tracks = serializers.SerializerMethodField(help_text="where speech and where music are heard so far")
    clip = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = LiveSession
        fields = [
            "id",
            "status",
            "received_s",
            "classified_s",
            "windows",
            "tracks",
            "clip",
            "error",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(TracksSerializer)
    def get_tracks(self, session: LiveSession) -> dict[str, list[dict]]:
        return {lane: (session.tracks or {}).get(lane, []) for lane in ("speech", "music")}


ERRORS = {401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class LiveSessionViewSet(viewsets.GenericViewSet):
    serializer_class = LiveSessionSerializer
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        return LiveSession.objects.for_user(self.request.user)

    def get_object(self):
        try:
            return super().get_object()
        except (ValueError, ValidationError):
            raise NotFound() from None

    @extend_schema(
        request=None,
        responses={
            201: LiveSessionSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def create(self, request):
        """Open a live session (an older open one of yours is closed)."""
        try:
            session = sessions.open_session(request.user)
        except sessions.LiveThrottled as error:
            headers = {"Retry-After": str(round(error.wait_s))}
            return Response({"detail": str(error)}, status=status.HTTP_429_TOO_MANY_REQUESTS, headers=headers)
        return Response(LiveSessionSerializer(session).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: LiveSessionSerializer, **ERRORS})
    def retrieve(self, request, pk=None):
        return Response(LiveSessionSerializer(self.get_object()).data)

    @extend_schema(
        request={"audio/wav": OpenApiTypes.BINARY},
        responses={
            200: LiveSessionSerializer,
            400: FieldErrorsSerializer,
            409: ErrorSerializer,
            413: ErrorSerializer,
            429: ErrorSerializer,
            **ERRORS,
        },
        examples=[
            OpenApiExample("one second of 16 kHz mono WAV", value="RIFF....WAVEfmt ...", request_only=True)
        ],
    )
    @action(detail=True, methods=["post"], parser_classes=[WavParser])
    def chunks(self, request, pk=None):
        """Append about a second of audio (an uncompressed WAV file as the body, 8-48 kHz, mono or
        stereo, 10 ms to 5 s); answers every window classified so far, times from the session's start."""
        session = self.get_object()
        try:
            sessions.take_chunk_allowance(session)  # before the body is read: a refusal costs little
            data = request.data if isinstance(request.data, bytes) else b""
            session = sessions.add_chunk(session, data)
        except sessions.LiveClosed as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        except sessions.LiveThrottled as error:
            headers = {"Retry-After": str(round(error.wait_s))}
            return Response({"detail": str(error)}, status=status.HTTP_429_TOO_MANY_REQUESTS, headers=headers)
        except sessions.LiveRefused as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(LiveSessionSerializer(session).data)

    @extend_schema(
        request=None,
        responses={
            201: ClipSerializer,
            400: FieldErrorsSerializer,
            409: ErrorSerializer,
            429: ErrorSerializer,
            **ERRORS,
        },
    )
    @action(detail=True, methods=["post"])
    def finish(self, request, pk=None):
        """Close the session and keep the whole recording as a clip (answered like GET /api/clips/<id>/)."""
        session = self.get_object()
        try:
            clip = sessions.finish(session)
        except sessions.LiveClosed as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        except intake.UploadThrottled as error:
            detail = f"{error} The recording is kept: finish again then."
            return Response({"detail": detail}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        except intake.UploadRejected as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        clip = Clip.objects.for_user(request.user).with_result().get(pk=clip.pk)
        return Response(
            ClipSerializer(clip, context={"request": request}).data, status=status.HTTP_201_CREATED
        )
