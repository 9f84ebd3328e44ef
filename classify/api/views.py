"""REST API for clips: upload, list (filters, search, pagination), read, delete."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from classify.api.serializers import (
    ClipListItemSerializer,
    ClipSerializer,
    ClipUploadSerializer,
    CorrectionRequestSerializer,
    CorrectionSerializer,
    ErrorSerializer,
    FieldErrorsSerializer,
    HistoryRowSerializer,
    SegmentRowSerializer,
    TrackRowSerializer,
)
from classify.clips import filters, history_export, intake, removal, segment_export
from classify.clips.corrections import CorrectionRefused, CorrectionThrottled, correct
from classify.clips.filters import filter_clips
from classify.infra.parsers import BoundedJSONParser
from classify.infra.ranged import audio_response
from classify.models import Clip, Segment
from ml import TIMELINE_LABELS
from ml.families import FAMILIES

# Refusals every endpoint can answer with, documented so clients (and the schema fuzz) know them.
UNAUTHORISED = {401: ErrorSerializer, 403: ErrorSerializer}
NOT_FOUND = {404: ErrorSerializer}
TOO_MANY = {429: ErrorSerializer}
BAD_REQUEST = {400: FieldErrorsSerializer}


def refuse_unknown_filters(params) -> None:
    """The API says when a filter value matches nothing it knows (?label=banana would otherwise
    return every clip); the HTML history ignores them, so an old bookmark still opens."""
    if errors := filters.unknown_values(params):
        raise ValidationError(errors)


LIST_PARAMETERS = [
    OpenApiParameter(
        "label",
        enum=[*TIMELINE_LABELS],
        description="the label shown: the owner's correction, else the model's",
    ),
    OpenApiParameter("status", enum=[s.value for s in Clip.Status]),
    OpenApiParameter(
        "mixed",
        enum=list(filters.FLAGS),
        description="two or more classes each hold a real share of the time",
    ),
    OpenApiParameter(
        "uncertain", enum=list(filters.FLAGS), description="the model hesitated on what decides the answer"
    ),
    OpenApiParameter("has_music", enum=list(filters.FLAGS), description="music heard, under speech or not"),
    OpenApiParameter("family", enum=list(FAMILIES), description="a family of sounds heard in the clip"),
    OpenApiParameter("ordering", enum=list(filters.ORDERINGS), description="newest first by default"),
    OpenApiParameter("search", str, description="part of the file name"),
]


class ClipPages(PageNumberPagination):
    """20 clips a page; ?page_size= from 1 to 100, anything else refused (not quietly replaced)."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        text = request.query_params.get(self.page_size_query_param)
        if text is None:
            return self.page_size
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= self.max_page_size:
            raise ValidationError({"page_size": [f"A whole number from 1 to {self.max_page_size}."]})
        return int(text)


@extend_schema_view(
    retrieve=extend_schema(responses={200: ClipSerializer, **NOT_FOUND, **UNAUTHORISED, **BAD_REQUEST}),
    destroy=extend_schema(responses={204: None, **NOT_FOUND, **UNAUTHORISED, **BAD_REQUEST}),
)
class ClipViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ClipSerializer
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = ClipPages

    @staticmethod
    def detailed(clips: QuerySet[Clip]) -> QuerySet[Clip]:
        """What one clip's JSON reads (its timeline too), in a fixed number of queries."""
        return (
            clips.select_related("result")
            .defer("waveform")
            .prefetch_related(Prefetch("result__segments", queryset=Segment.objects.order_by("index")))
        )

    @staticmethod
    def detail_row(clip: Clip, request) -> dict:
        """GET /api/clips/{id}/'s JSON (the event stream sends the same)."""
        return ClipSerializer(clip, context={"request": request}).data

    def get_queryset(self) -> QuerySet[Clip]:
        mine = Clip.objects.for_user(self.request.user)
        # a list row carries no timeline: no segment is read for it
        clips: QuerySet[Clip] = mine.for_listing() if self.action == "list" else self.detailed(mine)
        if self.action in ("list", "export"):
            refuse_unknown_filters(self.request.query_params)
            clips = filter_clips(clips, self.request.query_params)
        return clips

    @extend_schema(
        parameters=[
            *LIST_PARAMETERS,
            OpenApiParameter("page_size", int, description="clips per page, 1 to 100 (20 by default)"),
        ],
        responses={200: ClipListItemSerializer(many=True), **NOT_FOUND, **UNAUTHORISED, **BAD_REQUEST},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_serializer_class(self):
        return ClipListItemSerializer if self.action == "list" else ClipSerializer

    @extend_schema(
        request={"multipart/form-data": ClipUploadSerializer},
        responses={201: ClipSerializer, **BAD_REQUEST, **UNAUTHORISED, **TOO_MANY, 507: ErrorSerializer},
    )
    def create(self, request, *args, **kwargs):
        upload = ClipUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            clip = intake.create_clip(request.user, upload.validated_data["file"])
        except intake.UploadThrottled as error:
            raise Throttled(wait=error.wait_s, detail=str(error)) from None
        except intake.StorageFull as error:
            return Response({"detail": str(error)}, status=status.HTTP_507_INSUFFICIENT_STORAGE)
        except intake.UploadRejected as error:
            raise ValidationError({"file": [str(error)]}) from None
        data = ClipSerializer(self.get_queryset().get(pk=clip.pk), context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, clip: Clip) -> None:
        removal.delete_clip(clip)

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={200: CorrectionSerializer(many=True), **NOT_FOUND, **UNAUTHORISED, **BAD_REQUEST},
    )
    @extend_schema(
        methods=["POST"],
        request=CorrectionRequestSerializer,
        responses={201: CorrectionSerializer, **BAD_REQUEST, **NOT_FOUND, **UNAUTHORISED, **TOO_MANY},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[BoundedJSONParser, FormParser, MultiPartParser],
        pagination_class=None,
    )
    def corrections(self, request, pk=None):
        """GET: the owner's corrections of this clip, newest first. POST: say what the clip (or one
        segment, by index) really is; a segment may also be silence."""
        clip = self.get_object()
        if request.method == "GET":
            made = clip.corrections.select_related("segment").order_by("-created_at", "-id")
            return Response(CorrectionSerializer(made, many=True).data)
        wanted = CorrectionRequestSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        try:
            correction = correct(
                clip, request.user, wanted.validated_data["label"], wanted.validated_data.get("segment")
            )
        except CorrectionThrottled as error:
            raise Throttled(wait=error.wait_s, detail=str(error)) from None
        except CorrectionRefused as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(CorrectionSerializer(correction).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            (200, "audio/*"): OpenApiTypes.BINARY,
            (206, "audio/*"): OpenApiTypes.BINARY,
            (416, "text/plain"): OpenApiTypes.STR,
            **NOT_FOUND,
            **UNAUTHORISED,
            **BAD_REQUEST,
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def audio(self, request, pk=None):
        """The clip's audio, as stored (range requests supported), for token clients too."""
        return audio_response(request, self.get_object())

    @extend_schema(
        parameters=[
            OpenApiParameter("type", enum=["csv", "json"], description="file type, json by default"),
            *LIST_PARAMETERS,
        ],
        responses={
            (200, "application/json"): HistoryRowSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
            **BAD_REQUEST,
            **UNAUTHORISED,
        },
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request):
        """The whole (filtered) history as a CSV or JSON download."""
        kind = request.query_params.get("type", "json")
        if kind not in ("csv", "json"):
            raise ValidationError({"type": ["Choose csv or json."]})
        return history_export.response(self.get_queryset(), kind)

    @extend_schema(
        parameters=[
            OpenApiParameter("type", enum=[*segment_export.KINDS], description="file type, json by default"),
            OpenApiParameter(
                "lane", enum=[*segment_export.LANES], description="audacity: which lane (music by default)"
            ),
        ],
        responses={
            (200, "application/json"): TrackRowSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "text/plain"): OpenApiTypes.STR,
            **NOT_FOUND,
            **UNAUTHORISED,
            **BAD_REQUEST,
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def tracks(self, request, pk=None):
        """Where speech and where music are heard, as CSV, JSON or one lane as an Audacity label track."""
        kind = request.query_params.get("type", "json")
        lane = request.query_params.get("lane", "music")
        if kind not in segment_export.KINDS:
            raise ValidationError({"type": [f"Choose one of {', '.join(segment_export.KINDS)}."]})
        if lane not in segment_export.LANES:
            raise ValidationError({"lane": [f"Choose one of {', '.join(segment_export.LANES)}."]})
        return segment_export.tracks_response(self.get_object(), kind, lane)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "type",
                enum=[*segment_export.KINDS],
                description="file type, json by default; audacity: a label track",
            )
        ],
        responses={
            (200, "application/json"): SegmentRowSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "text/plain"): OpenApiTypes.STR,
            **NOT_FOUND,
            **UNAUTHORISED,
            **BAD_REQUEST,
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def segments(self, request, pk=None):
        """The clip's timeline as CSV, JSON or an Audacity label track, each segment as shown."""
        kind = request.query_params.get("type", "json")
        if kind not in segment_export.KINDS:
            raise ValidationError({"type": [f"Choose one of {', '.join(segment_export.KINDS)}."]})
        return segment_export.response(self.get_object(), kind)
